from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class MerchantConfig(AppConfig):
    """The core: shops, memberships, customers, products, orders and their timeline."""

    name = "merchant"
    verbose_name = "Shop"


class MerchantAdminConfig(AdminConfig):
    """Django's admin with models grouped by task (merchant.admin_site)."""

    default_site = "merchant.admin_site.MerchantAdminSite"

from django.apps import AppConfig


class MerchantConfig(AppConfig):
    """The core: shops, memberships, customers, products, orders and their timeline."""

    name = "merchant"
    verbose_name = "Shop"

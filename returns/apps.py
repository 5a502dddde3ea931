from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    """Return policy and portal, refunds, disputes and the support queue."""

    name = "returns"
    verbose_name = "Returns and disputes"

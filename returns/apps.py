from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    """Return policy and portal, refunds, disputes and the support queue."""

    name = "returns"
    verbose_name = "Returns and disputes"

    def ready(self) -> None:
        # journeys and merchant never import returns: returns hands them its triggers, holds, links,
        # webhook handlers and listeners here (returns.wiring, one function per sub-domain).
        from returns.wiring import returns_wire

        returns_wire()

"""Per-shop admin. Importing the modules registers their ModelAdmins."""

from merchant.admin import customers, integrations, orders, shops  # noqa: F401

__all__ = ["customers", "integrations", "orders", "shops"]

"""Per-shop admin. Importing the modules registers their ModelAdmins."""

from merchant.admin import customers, orders, shops  # noqa: F401

__all__ = ["customers", "orders", "shops"]

"""Admin of journeys: care rules with their templates, coupon pools and the outbox.

Importing this package (Django's admin autodiscovery does at startup) registers the ModelAdmins.
"""

from journeys.admin import coupons, outbox, rules

__all__ = ["coupons", "outbox", "rules"]

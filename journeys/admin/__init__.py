"""Admin of journeys: care rules with their templates, coupon pools, the outbox, SMS accounts and
texts from customers.

Importing this package (Django's admin autodiscovery does at startup) registers the ModelAdmins.
"""

from journeys.admin import channels, coupons, outbox, rules

__all__ = ["channels", "coupons", "outbox", "rules"]

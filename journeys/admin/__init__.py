"""Admin of journeys: care rules with their templates, coupon pools, the outbox, SMS accounts and
texts from customers, and the consent settings (message classes by country, contact budget).

Importing this package (Django's admin autodiscovery does at startup) registers the ModelAdmins.
"""

from journeys.admin import channels, consent, coupons, outbox, rules

__all__ = ["channels", "consent", "coupons", "outbox", "rules"]

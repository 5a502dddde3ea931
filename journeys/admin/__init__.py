"""Admin of journeys: care rules with their templates, coupon pools, the outbox, SMS accounts and
texts from customers, the consent settings (message classes by country, contact budget), and
campaigns and holiday greetings with their audiences and the approved calendar, and when visits to the order
status page count as a worried customer.

Importing this package (Django's admin autodiscovery does at startup) registers the ModelAdmins.
"""

from journeys.admin import campaigns, channels, consent, coupons, greetings, outbox, rules, status

__all__ = ["campaigns", "channels", "consent", "coupons", "greetings", "outbox", "rules", "status"]

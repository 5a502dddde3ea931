"""Admin of journeys: care rules with their templates, coupon pools and the outbox.

Importing this package (Django's admin autodiscovery does at startup) registers the ModelAdmins
and the journeys source of the order and customer timelines.
"""

from journeys.admin import coupons, outbox, rules
from journeys.selectors import message_timeline_entries
from merchant.timeline import register_timeline_source

# TODO(journeys/apps.py owner): move this into JourneysConfig.ready(); it lives here only until then.
register_timeline_source(message_timeline_entries)

__all__ = ["coupons", "outbox", "rules"]

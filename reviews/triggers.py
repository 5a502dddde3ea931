"""The triggers reviews adds to journeys (registered from `ReviewsConfig.ready()`; journeys never imports reviews).

Both are planned by reviews itself (kind EXTERNAL): the request when its group of items comes due
after delivery, the reminder when the request was sent some days ago without an answer. Both fit
only a delivered order (a refund or cancellation cancels them) and wait while the customer has an
open return, dispute or late shipment (journeys.holds; returns registers the first two).
"""

from django.utils.translation import gettext_lazy as _

from journeys.context import link_register
from journeys.triggers import Kind, TriggerSpec, trigger_register
from merchant.models import Order
from reviews.links import REVIEW_LINKS

FITS = frozenset({Order.Status.DELIVERED, Order.Status.PARTIALLY_REFUNDED})
WAITS_FOR = frozenset({"return_open", "dispute_open", "late_shipment"})
# Long enough to outlast a short hold (a return being settled); a request weeks late is not worth sending.
EXPIRE_AFTER_HOURS = 21 * 24

REVIEW_REQUEST = TriggerSpec(
    name="review_request",
    label=_("Review request"),
    description=_(
        "Asks for a review when the customer can judge the items: days after delivery, per product or "
        "category (see the review request policy)."
    ),
    kind=Kind.EXTERNAL,
    anchor_label=_("review due"),
    fits_order_statuses=FITS,
    default_channel="email",
    default_fallback_channel="sms",
    default_expire_after_hours=EXPIRE_AFTER_HOURS,
    in_default_rule_set=False,
    waits_for=WAITS_FOR,
)

REVIEW_REMINDER = TriggerSpec(
    name="review_reminder",
    label=_("Review reminder"),
    description=_("Reminds a customer who has not answered a review request; never after they wrote a review."),
    kind=Kind.EXTERNAL,
    anchor_label=_("reminder due"),
    fits_order_statuses=FITS,
    default_channel="email",
    default_fallback_channel="sms",
    default_expire_after_hours=7 * 24,
    in_default_rule_set=False,
    waits_for=WAITS_FOR,
)

REVIEW_TRIGGER_SPECS = (REVIEW_REQUEST, REVIEW_REMINDER)


def review_triggers_register() -> None:
    """Register the triggers and template links with journeys. Idempotent."""
    for spec in REVIEW_TRIGGER_SPECS:
        trigger_register(spec)
    for link in REVIEW_LINKS:
        link_register(link)

"""The triggers reviews adds to journeys (registered from `ReviewsConfig.ready()`; journeys never imports reviews).

All are planned by reviews itself (kind EXTERNAL): the request when its group of items comes due
after delivery, the reminder when the request was sent some days ago without an answer (both fit
only a delivered order, a refund or cancellation cancels them, and they wait while the customer has
an open return, dispute or late shipment: journeys.holds, returns registers the first two); a private
follow-up a staff member writes to a reviewer (transactional, the staff member's words in
`{{ staff_message }}`); and a referral invitation to a happy customer (marketing, `{{ referral_code }}`).
"""

from django.utils.translation import gettext_lazy as _

from journeys.context import link_register, value_register
from journeys.triggers import Kind, TriggerSpec, trigger_register
from merchant.models import Order
from reviews.links import REVIEW_LINKS
from reviews.message_values import REVIEW_VALUES

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

REVIEW_FOLLOW_UP = TriggerSpec(
    name="review_follow_up",
    label=_("Review follow-up (private message)"),
    description=_(
        "A private message a staff member writes to a reviewer from the review's admin page; the words are in "
        "{{ staff_message }}."
    ),
    kind=Kind.EXTERNAL,
    anchor_label=_("written"),
    default_channel="email",
    default_fallback_channel="sms",
    default_expire_after_hours=72,
    in_default_rule_set=False,
    holdout_allowed=False,  # a person's words always go out
)

REFERRAL_INVITATION = TriggerSpec(
    name="referral_invitation",
    label=_("Referral invitation"),
    description=_(
        "Invites a promoter (NPS 9–10) or a 4–5 star reviewer to refer friends with a personal code "
        "({{ referral_code }}), once per customer, when the review policy turns referrals on."
    ),
    kind=Kind.EXTERNAL,
    anchor_label=_("answered"),
    default_delay=(1, "days"),
    default_channel="email",
    default_fallback_channel="sms",
    default_message_class="marketing",
    default_expire_after_hours=7 * 24,
    in_default_rule_set=False,
    waits_for=frozenset({"return_open", "dispute_open"}),
)

REVIEW_TRIGGER_SPECS = (REVIEW_REQUEST, REVIEW_REMINDER, REVIEW_FOLLOW_UP, REFERRAL_INVITATION)
# Rules made active when created: they send only what a person wrote, or what the policy's switch allows.
ACTIVE_WHEN_CREATED = frozenset({REVIEW_FOLLOW_UP.name, REFERRAL_INVITATION.name})


def review_triggers_register() -> None:
    """Register the triggers, template links and template values with journeys. Idempotent."""
    for spec in REVIEW_TRIGGER_SPECS:
        trigger_register(spec)
    for link in REVIEW_LINKS:
        link_register(link)
    for value in REVIEW_VALUES:
        value_register(value)

"""What reviews adds to the rule performance page (journeys.insight.outcomes): "wrote a review".

Registered from `ReviewsConfig.ready()`; journeys never imports reviews.
"""

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from journeys.insight.outcomes import OutcomeSpec, rule_outcome_register
from reviews.models import Review
from reviews.triggers import REVIEW_REMINDER, REVIEW_REQUEST


def _review_written_after_due() -> Exists:
    # Any review of the message's order written after the message was due, published or not: writing is the act.
    return Exists(Review.objects.filter(order_id=OuterRef("order_id"), submitted_at__gt=OuterRef("not_before")))


REVIEW_WRITTEN = OutcomeSpec(
    name="review_written",
    label=_("Wrote a review"),
    exists=_review_written_after_due,
    triggers=frozenset({REVIEW_REQUEST.name, REVIEW_REMINDER.name}),
    position=20,
)


def review_outcomes_register() -> None:
    """Idempotent."""
    rule_outcome_register(REVIEW_WRITTEN)

"""What a rule's message may lead to, measured against its holdout group on the rule performance page.

An outcome is a yes/no question asked of each planned message: "was the order paid after the unpaid
reminder was due?", "did the customer order again within 30 days?". It is an `Exists` over other tables,
correlated with the message through `OuterRef` on the message's own columns:

    OuterRef("order_id"), OuterRef("customer_id"), OuterRef("shop_id")  the message's order, customer, shop
    OuterRef("not_before")  the moment the message was due: its anchor plus the rule's delay

`not_before` is the reference because it is the same for a held-out customer and for one who got the
message (the send time is not: windows, budgets and retries move it only for messages really sent).

journeys registers the outcomes it can see (orders); apps register theirs from their `AppConfig.ready()`,
e.g. reviews: "wrote a review" (journeys never imports reviews):

    rule_outcome_register(OutcomeSpec(
        name="review_written", label=_("Wrote a review"), triggers=frozenset({"review_request"}),
        exists=lambda: Exists(Review.objects.filter(order_id=OuterRef("order_id"),
                                                    submitted_at__gt=OuterRef("not_before"))),
    ))
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Value
from django.utils.translation import gettext_lazy as _

from merchant.models import Order

REPEAT_PURCHASE_DAYS = 30


@dataclass(frozen=True)
class OutcomeSpec:
    name: str  # unique, e.g. "paid_after_reminder"; the CSV carries it
    label: str  # what the owner reads, e.g. "Paid after the reminder"
    # Builds the question for one message: an Exists correlated through OuterRef (see the module's doc).
    exists: Callable[[], Exists] = field(compare=False)
    # The triggers whose messages it is asked of; None: every rule's.
    triggers: frozenset[str] | None = None
    position: int = 100  # order of the outcomes on the page


_registry: dict[str, OutcomeSpec] = {}


def rule_outcome_register(spec: OutcomeSpec) -> OutcomeSpec:
    """Add an outcome. Registering the same name again replaces it (app reloads in tests)."""
    _registry[spec.name] = spec
    return spec


def rule_outcome_unregister(name: str) -> None:
    _registry.pop(name, None)


def rule_outcomes() -> list[OutcomeSpec]:
    return sorted(_registry.values(), key=lambda spec: (spec.position, spec.name))


def _paid_after_due() -> Exists:
    return Exists(Order.objects.filter(pk=OuterRef("order_id"), paid_at__gt=OuterRef("not_before")))


def _ordered_again_within_30_days() -> Exists:
    # The message's own order was placed before it was due, so "placed after due" leaves it out.
    until = ExpressionWrapper(
        OuterRef("not_before") + Value(dt.timedelta(days=REPEAT_PURCHASE_DAYS)), output_field=DateTimeField()
    )
    return Exists(
        Order.objects.filter(
            shop_id=OuterRef("shop_id"),
            customer_id=OuterRef("customer_id"),
            placed_at__gt=OuterRef("not_before"),
            placed_at__lte=until,
        )
    )


PAID_AFTER_REMINDER = OutcomeSpec(
    name="paid_after_reminder",
    label=_("Paid after the reminder"),
    exists=_paid_after_due,
    triggers=frozenset({"unpaid_reminder"}),
    position=10,
)
REPEAT_PURCHASE = OutcomeSpec(
    name="repeat_purchase_30d",
    label=_("Ordered again within 30 days"),
    exists=_ordered_again_within_30_days,
    position=30,
)


def journeys_outcomes_register() -> None:
    """The outcomes journeys sees itself in the orders. Idempotent."""
    rule_outcome_register(PAID_AFTER_REMINDER)
    rule_outcome_register(REPEAT_PURCHASE)

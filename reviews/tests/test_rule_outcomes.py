"""Review requests and the rule performance page: a held-out customer is never asked, and "wrote a review" is
measured for the review-request rule against its holdout group (reviews registers the outcome with journeys)."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from journeys.holdout import holdout_includes
from journeys.insight.rules import rule_performance_list, rule_performance_rules
from journeys.insight.scope import InsightScope
from journeys.models import CareRule, Message
from journeys.tests.factories import MessageFactory
from merchant.models import Customer
from merchant.tests.factories import CustomerFactory, OrderFactory
from reviews.models import ReviewRequest
from reviews.services.requests import review_reminders_plan
from reviews.tests.factories import DELIVERED_AT, ReviewFactory, delivered_order, drain

pytestmark = pytest.mark.django_db


def _held_out_customer(shop, rule: CareRule) -> Customer:
    for number in range(200):
        customer = Customer.objects.create(
            shop=shop, first_name=f"C{number}", email=f"c{number}@example.com", country="US", language="en"
        )
        if holdout_includes(rule_id=rule.pk, percent=rule.holdout_percent, customer_id=customer.pk):
            return customer
    raise AssertionError("nobody held out in 200 draws")


def test_a_held_out_customer_is_never_asked_for_a_review_nor_reminded(review_shop, products):
    rule = CareRule.objects.get(shop=review_shop, trigger="review_request")
    rule.holdout_percent = 50
    rule.save(update_fields=["holdout_percent"])
    customer = _held_out_customer(review_shop, rule)

    order = delivered_order(review_shop, customer, [products["socks"]])
    with time_machine.travel(DELIVERED_AT + dt.timedelta(days=30), tick=False):
        drain()
        review_reminders_plan()
        drain()

    request = ReviewRequest.objects.get(order=order)
    assert request.status == ReviewRequest.Status.SKIPPED
    assert "held out to measure the rule" in request.status_reason
    assert list(Message.objects.filter(order=order).values_list("trigger", "status", "reason")) == [
        ("review_request", "suppressed", "holdout")
    ]
    assert mail.outbox == []


PLANNED = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DUE = PLANNED + dt.timedelta(days=7)


def test_reviews_written_after_the_request_was_due_are_compared_with_the_holdout(shop):
    rule = CareRule.objects.create(shop=shop, name="Ask for a review", trigger="review_request", holdout_percent=20)

    def planned(*, holdout: bool, reviewed_at: dt.datetime | None = None) -> None:
        customer = CustomerFactory(shop=shop)
        order = OrderFactory(shop=shop, customer=customer, placed_at=PLANNED - dt.timedelta(days=5))
        fields = {"status": "suppressed", "reason": "holdout"} if holdout else {"status": "delivered"}
        MessageFactory(
            shop=shop,
            rule=rule,
            trigger="review_request",
            customer=customer,
            order=order,
            channel="email",
            created_at=PLANNED,
            anchor_at=DUE,
            not_before=DUE,
            send_at=DUE,
            holdout=holdout,
            **fields,
        )
        if reviewed_at:
            ReviewFactory(shop=shop, customer=customer, order=order, submitted_at=reviewed_at)

    # Compared group: 2 of 4 wrote after the request was due (a third wrote before: not the request's doing).
    planned(holdout=False, reviewed_at=DUE + dt.timedelta(days=1))
    planned(holdout=False, reviewed_at=DUE + dt.timedelta(days=3))
    planned(holdout=False, reviewed_at=DUE - dt.timedelta(days=1))
    planned(holdout=False)
    # Holdout group: 1 of 2 wrote anyway.
    planned(holdout=True, reviewed_at=DUE + dt.timedelta(days=2))
    planned(holdout=True)
    scope = InsightScope((shop.pk,), dt.date(2026, 3, 1), dt.date(2026, 3, 31), dt.UTC)

    [performance] = rule_performance_list(
        scope=scope, rules=rule_performance_rules(scope=scope), now=dt.datetime(2026, 4, 15, tzinfo=dt.UTC)
    )

    written = next(figures for figures in performance.outcomes if figures.spec.name == "review_written")
    assert (written.treated, written.treated_total, written.holdout, written.holdout_total) == (2, 4, 1, 2)
    assert round(written.lift.difference, 4) == 0.0  # 2/4 - 1/2
    assert "paid_after_reminder" not in [figures.spec.name for figures in performance.outcomes]

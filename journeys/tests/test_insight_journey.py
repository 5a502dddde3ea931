"""The journey map's stages journeys knows from the order itself, and its flow chart (the full map with reviews'
stages is tested in reviews/tests/test_journey_map.py)."""

import datetime as dt
import zoneinfo

import pytest

from journeys.insight.charts import FlowStage, flow_chart
from journeys.insight.journey import (
    journey_cohort,
    journey_figures,
    journey_stage_get,
    journey_stages,
    journey_trigger_stage,
)
from journeys.insight.scope import InsightScope
from merchant.actors import Actor
from merchant.models import Order
from merchant.services import order_cancel
from merchant.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MARCH = dt.date(2026, 3, 1)


def _at(day: int) -> dt.datetime:
    return dt.datetime(2026, 3, 1, 12, tzinfo=NEW_YORK) + dt.timedelta(days=day)


def test_bought_again_means_another_order_not_cancelled_within_90_days(shop):
    soon, late, cancelled = (CustomerFactory(shop=shop) for _ in range(3))
    first = {
        customer: OrderFactory(shop=shop, customer=customer, placed_at=_at(0)) for customer in (soon, late, cancelled)
    }
    OrderFactory(shop=shop, customer=soon, placed_at=_at(90))  # 90 days later: still within
    OrderFactory(shop=shop, customer=late, placed_at=_at(91))  # a day too late
    OrderFactory(shop=shop, customer=cancelled, placed_at=_at(5), status=Order.Status.CANCELLED, cancelled_at=_at(6))
    scope = InsightScope((shop.pk,), MARCH, MARCH, NEW_YORK)  # 1 March: the three first orders

    own_evidence = journey_cohort(scope).filter(journey_stage_get("bought_again").orders_filter())
    figures = journey_figures(scope)

    assert list(own_evidence) == [first[soon]]
    assert (figures.placed, figures.stage("bought_again").reached) == (3, 1)
    # None was paid: along the journey (every stage before it too) nobody got that far.
    assert figures.stage("bought_again").orders == 0


def test_cancelling_the_later_order_takes_the_first_one_out_of_bought_again(shop):
    customer = CustomerFactory(shop=shop)
    first = OrderFactory(shop=shop, customer=customer, placed_at=_at(0))
    again = OrderFactory(shop=shop, customer=customer, placed_at=_at(20))
    scope = InsightScope((shop.pk,), MARCH, MARCH, NEW_YORK)
    assert journey_figures(scope).stage("bought_again").reached == 1

    order_cancel(order=again, actor=Actor.webhook("shopify"), reason="customer asked")

    assert journey_figures(scope).stage("bought_again").reached == 0
    assert not journey_cohort(scope).filter(journey_stage_get("bought_again").orders_filter()).filter(pk=first.pk)


def test_the_order_care_triggers_are_attached_to_their_stages():
    assert [spec.name for spec in journey_stages()][:4] == ["placed", "paid", "shipped", "delivered"]
    assert {
        trigger: journey_trigger_stage(trigger)
        for trigger in (
            "unpaid_reminder",
            "payment_confirmed",
            "late_shipment",
            "stuck_parcel",
            "delivered",
            "campaign",
        )
    } == {
        "unpaid_reminder": "placed",
        "payment_confirmed": "paid",
        "late_shipment": "shipped",
        "stuck_parcel": "shipped",
        "delivered": "delivered",
        "campaign": None,
    }


def test_the_flow_chart_draws_linked_stages_with_their_conversion():
    svg = flow_chart(
        [
            FlowStage("Placed", 10, href="/a?x=1&y=2", description="<placed>", notes=["1 rule"]),
            FlowStage("Paid", 8, conversion="80%", dropped="−2", href="/b"),
            FlowStage("Shipped", 0, conversion="0%"),
        ],
        title="Journey",
        maximum=10,
    )

    assert svg.startswith('<svg class="insight-chart"')
    assert svg.count('<a href="') == 2
    assert 'href="/a?x=1&amp;y=2"' in svg
    assert "<title>Placed: &lt;placed&gt;</title>" in svg
    for text in ("80%", "−2", "1 rule"):
        assert f">{text}</text>" in svg
    assert 'class="bar stage empty"' in svg  # a stage nobody reached still shows where it is

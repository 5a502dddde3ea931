"""The demo shop (`manage.py seed_demo`) fills every stage of the journey map, and its rules show sends and clicks."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from journeys.insight.journey import journey_figures, journey_rule_figures
from journeys.insight.scope import InsightScope
from merchant.models import Merchant

pytestmark = pytest.mark.django_db


def _seed() -> dict[str, str]:
    out = io.StringIO()
    call_command("seed_demo", customers=40, orders=200, stdout=out)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines() if "=" in line)


def test_the_demo_shop_has_a_journey_at_every_stage_and_rules_that_did_something(admin_client):
    first = _seed()
    shop = Merchant.objects.get(slug="demo")
    zone = zoneinfo.ZoneInfo(shop.time_zone)
    today = timezone.now().astimezone(zone).date()
    scope = InsightScope((shop.pk,), today - dt.timedelta(days=89), today, zone)

    figures = journey_figures(scope)
    rules = {rule.trigger: rule for rule in journey_rule_figures(scope)}

    assert int(first["CARE_MESSAGES_RECORDED"]) > 0
    assert int(first["REVIEWS_CREATED"]) > 0
    assert int(first["REFERRED_ORDERS_CREATED"]) > 0
    for name in ("placed", "paid", "shipped", "delivered", "reviewed", "bought_again", "advocate"):
        assert figures.stage(name).reached > 0, name
    for trigger in ("unpaid_reminder", "payment_confirmed", "shipped", "delivered", "review_request"):
        assert rules[trigger].sent > 0, trigger
        assert rules[trigger].clicked > 0, trigger

    # The unpaid reminder keeps a holdout group, so the rule performance page has outcomes to compare.
    page = admin_client.get(reverse("admin:insight_rules"))
    outcomes = [row for row in page.context["tables"]["outcomes"].rows if row["variant"] == "All variants"]
    reminder = {row["outcome"]: row for row in outcomes if row["rule"] == "Unpaid order reminder"}
    assert reminder["Paid after the reminder"]["holdout_total"] > 0
    assert reminder["Paid after the reminder"]["treated_total"] > reminder["Paid after the reminder"]["holdout_total"]

    second = _seed()

    assert (second["CARE_MESSAGES_RECORDED"], second["REVIEWS_CREATED"], second["REFERRED_ORDERS_CREATED"]) == (
        "0",
        "0",
        "0",
    )

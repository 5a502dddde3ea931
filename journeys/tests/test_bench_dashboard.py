"""The dashboard benchmark (bench/dashboard.py) seeds and measures at a tiny scale, so it cannot rot unnoticed.

No time is asserted here (speed is the bench's job, docs/benchmarks.md): only that its set-based seeding
writes a believable shop through the real schema, on SQLite and PostgreSQL alike, and that every registered
dashboard page is measured as the shop's owner beside the replay of its own statements.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count, F
from django.urls import clear_url_caches

from journeys.insight import pages as insight_pages_module
from journeys.models import CareRule, Message
from merchant import admin_site
from merchant.models import Customer, Membership, Order
from returns.models import Case, Dispute, ReturnLine, ReturnRequest
from reviews.models import NpsResponse, ReferralInvitation, Review

pytestmark = pytest.mark.django_db

BENCH_DIR = Path(settings.BASE_DIR) / "bench"


def _quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH_DIR))  # the script imports its sibling package benchkit
    try:
        spec = importlib.util.spec_from_file_location("bench_dashboard", BENCH_DIR / "dashboard.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH_DIR))
    return module


@pytest.fixture
def registered_pages_restored():
    """The bench registers its probe page; the other tests must not see its tab afterwards."""
    insight_before = dict(insight_pages_module._pages)
    admin_before = dict(admin_site._pages)
    yield
    insight_pages_module._pages.clear()
    insight_pages_module._pages.update(insight_before)
    admin_site._pages.clear()
    admin_site._pages.update(admin_before)
    clear_url_caches()
    if "merchant.urls" in sys.modules:
        importlib.reload(sys.modules["merchant.urls"])


def test_seeding_writes_the_measured_shop_and_a_smaller_one_through_the_real_schema(bench):
    seeded = bench.seed(orders=300, messages=1_500, other_shops=1, other_share=0.5, log=_quiet)

    measured, other = seeded["shops"]
    assert (measured["shop"], measured["orders"], other["orders"]) == (bench.MEASURED_SLUG, 300, 150)
    orders = Order.objects.filter(shop__slug=bench.MEASURED_SLUG)
    assert orders.count() == 300
    assert Customer.objects.filter(shop__slug=bench.MEASURED_SLUG).count() == 180
    by_status = dict(orders.values_list("status").annotate(n=Count("id")))
    assert by_status.get("delivered", 0) > 150  # about 84% delivered, the rest on the way or stopped
    assert {"pending_payment", "cancelled"} & set(by_status)
    messages = Message.objects.filter(shop__slug=bench.MEASURED_SLUG)
    assert 1_350 <= messages.count() <= 1_650  # each rule's share is drawn per order: about the target
    assert not messages.exclude(order__shop=F("shop")).exclude(customer__shop=F("shop")).exists()
    triggers = set(messages.values_list("rule__trigger", flat=True))
    assert {"payment_confirmed", "shipped", "delivered", "review_request"} <= triggers
    assert triggers <= set(CareRule.objects.filter(shop__slug=bench.MEASURED_SLUG).values_list("trigger", flat=True))
    statuses = set(messages.values_list("status", flat=True))
    assert {"delivered", "suppressed", "failed"} <= statuses
    assert set(messages.filter(status="suppressed").values_list("reason", flat=True)) - {""}
    assert set(messages.values_list("channel", flat=True)) == {"sms", "email"}
    ratings = set(Review.objects.filter(shop__slug=bench.MEASURED_SLUG).values_list("rating", flat=True))
    assert 5 in ratings
    assert ratings <= {1, 2, 3, 4, 5}
    for model in (NpsResponse, ReferralInvitation, ReturnRequest, Case):
        assert model.objects.filter(shop__slug=bench.MEASURED_SLUG).exists(), model.__name__
    assert ReturnLine.objects.filter(return_request__shop__slug=bench.MEASURED_SLUG).exists()
    assert Dispute.objects.filter(shop__slug=bench.MEASURED_SLUG).count() == measured["disputes"]
    owner_shops = Membership.objects.filter(user__username=bench.OWNER_USERNAME).values_list("shop__slug", "role")
    assert list(owner_shops) == [(bench.MEASURED_SLUG, "owner")]


def test_every_registered_page_is_measured_as_the_owner_beside_its_own_statements(bench, registered_pages_restored):
    bench.seed(orders=200, messages=1_000, other_shops=1, other_share=0.5, log=_quiet)

    result = bench.measure(requests=2, probe=True, log=_quiet)

    measured = {view["page"] for view in result["views"]}
    assert measured == set(result["pages_registered"])
    assert bench.PROBE_PAGE in measured
    probe = {view["period"]: view for view in result["views"] if view["page"] == bench.PROBE_PAGE}
    assert set(probe) == {"30 days", "365 days", "CSV orders"}
    for view in result["views"]:
        assert view["queries"] >= 1
        assert view["p95_ms"] > 0
        assert view["raw_p95_ms"] > 0
        assert len(view["statement_p50_ms"]) == view["queries"]
    assert result["slowest"]["page"] in measured
    assert result["plans"]
    assert all(plan["plan"] for plan in result["plans"])

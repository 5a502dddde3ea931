"""The "Voice of the customer" page, assembled as it runs: journeys ranks and draws, reviews and returns register
their complaints and panels at start-up. So this test seeds data of all three apps (the dependency rule is about
the code; the page exists only with all of them installed).

The seeded June 2026 of the Alpha Shoes shop (America/New_York), every figure below worked out by hand:

Units sold (orders placed, neither unpaid nor cancelled)    June     May
  Trail shoes                                                 20      10
  Wool socks                                                   5       5
  Rain jacket                                                 40      40

Signals in June (weight)        Trail shoes   Wool socks   Rain jacket
  1–2★ reviews (3)                   3            1             0       (+ a hidden 1★ of the jacket: not counted)
  Returns (2)                        2            0             1       (+ a cancelled return of the jacket)
  Disputes (4)                       1            0             1       (one dispute of the order holding both)
  NPS detractors (1)                 1            1             1       (score 5 on that order; score 3 on the socks')
  Score                             18            4             7
  Per 100 units               18/20=90.0   4/max(5,10)=40.0   7/40=17.5
May: shoes one 1★ review (3 → 3/10 = 30.0); jacket two returns and two 1★ reviews (10 → 10/40 = 25.0).
Trend: shoes (90 − 30)/30 = ▲ 200%; socks nothing before: new; jacket (17.5 − 25)/25 = ▼ 30%.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from journeys.insight import voice
from journeys.insight.scope import InsightScope
from journeys.insight.tables import Column, Table
from journeys.insight.voice import (
    SignalSource,
    VoicePanel,
    VoicePanelContent,
    negative_signal_register,
    product_voice_list,
    voice_panel_register,
)
from merchant.models import Order
from merchant.tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductFactory
from returns.models import Case, Dispute, ReturnReason, ReturnRequest
from returns.tests.factories import CaseFactory, DisputeFactory, ReturnLineFactory, ReturnRequestFactory
from reviews.models import NpsResponse, Review
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

PAGE = "/admin/insight/voice/"
JUNE = {"start": "2026-06-01", "end": "2026-06-30"}
NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def order_of(shop, placed_at, *lines, status=Order.Status.DELIVERED):
    order = OrderFactory(shop=shop, status=status, placed_at=placed_at, customer=CustomerFactory(shop=shop))
    for product, quantity in lines:
        OrderLineFactory(order=order, product=product, title=product.title, quantity=quantity)
    return order


def review(shop, product, rating, submitted_at, title="", **kwargs):
    return ReviewFactory(shop=shop, product=product, rating=rating, title=title, submitted_at=submitted_at, **kwargs)


def returned(order, product, created_at, *, reason, line_reason="", status=ReturnRequest.Status.REQUESTED):
    request = ReturnRequestFactory(order=order, reason=reason, status=status, created_at=created_at)
    ReturnLineFactory(
        return_request=request, order_line=order.lines.get(product=product), quantity=1, reason=line_reason
    )
    return request


def nps(shop, score, submitted_at, *, order=None, comment=""):
    return NpsResponse.objects.create(shop=shop, score=score, submitted_at=submitted_at, order=order, comment=comment)


@pytest.fixture
def june(shop, other_shop, now):
    shoes = ProductFactory(shop=shop, title="Trail shoes")
    socks = ProductFactory(shop=shop, title="Wool socks")
    jacket = ProductFactory(shop=shop, title="Rain jacket")
    ProductFactory(shop=shop, title="Sun hat")  # nothing said about it: not ranked

    # Units sold in June: shoes 18 + 2, socks 5, jacket 1 + 39; the cancelled and the unpaid order sold nothing.
    shoes_order = order_of(shop, at(6, 3), (shoes, 18))
    both_order = order_of(shop, at(6, 10), (shoes, 2), (jacket, 1))
    socks_order = order_of(shop, at(6, 4), (socks, 5))
    jacket_order = order_of(shop, at(6, 5), (jacket, 39))
    order_of(shop, at(6, 6), (socks, 3), status=Order.Status.CANCELLED)
    order_of(shop, at(6, 7), (jacket, 100), status=Order.Status.PENDING_PAYMENT)
    # May: shoes 10, socks 5, jacket 40.
    order_of(shop, at(5, 10), (shoes, 10))
    order_of(shop, at(5, 12), (socks, 5))
    may_jacket_order = order_of(shop, at(5, 15), (jacket, 40))

    # Reviews in June: shoes 1★ "Fell apart" twice, 2★ untitled, 4★; socks 2★ "Too itchy"; jacket 3★, 5★ twice,
    # and a 1★ hidden as spam (never counted).
    review(shop, shoes, 1, at(6, 12), "Fell apart")
    review(shop, shoes, 1, at(6, 13), "Fell apart", status=Review.Status.PENDING)
    review(shop, shoes, 2, at(6, 14))
    review(shop, shoes, 4, at(6, 15), "Fine")
    review(shop, socks, 2, at(6, 16), "Too itchy")
    review(shop, jacket, 3, at(6, 17), "OK")
    review(shop, jacket, 5, at(6, 18), "Dry")
    review(shop, jacket, 5, at(6, 19), "Great")
    review(shop, jacket, 1, at(6, 20), "BUY CHEAP", status=Review.Status.HIDDEN, hidden_reason="spam")
    # Reviews in May: shoes one 1★, jacket two 1★.
    review(shop, shoes, 1, at(5, 20), "Bad")
    review(shop, jacket, 1, at(5, 21), "Leaks")
    review(shop, jacket, 1, at(5, 22), "Leaks")

    # Returns in June: shoes too small (the request's reason) and damaged (the line's own); jacket not as described,
    # and one cancelled by the customer.
    returned(shoes_order, shoes, at(6, 12), reason=ReturnReason.TOO_SMALL)
    returned(both_order, shoes, at(6, 13), reason=ReturnReason.OTHER, line_reason=ReturnReason.DAMAGED)
    returned(jacket_order, jacket, at(6, 14), reason=ReturnReason.NOT_AS_DESCRIBED)
    returned(jacket_order, jacket, at(6, 15), reason=ReturnReason.TOO_LARGE, status=ReturnRequest.Status.CANCELLED)
    # Returns in May: the jacket twice.
    returned(may_jacket_order, jacket, at(5, 20), reason=ReturnReason.TOO_LARGE)
    returned(may_jacket_order, jacket, at(5, 21), reason=ReturnReason.TOO_LARGE)

    # Disputes: the order with shoes and jacket, won; a fraud claim with no order, lost; one still open; one
    # decided in May.
    DisputeFactory(
        order=both_order,
        reason_category=Dispute.ReasonCategory.NOT_AS_DESCRIBED,
        opened_at=at(6, 15),
        status=Dispute.Status.WON,
        closed_at=at(6, 25),
    )
    DisputeFactory(
        order=None,
        shop=shop,
        customer=None,
        reason_category=Dispute.ReasonCategory.FRAUDULENT,
        opened_at=at(6, 2),
        status=Dispute.Status.LOST,
        closed_at=at(6, 20),
    )
    DisputeFactory(
        order=order_of(shop, at(4, 1)), reason_category=Dispute.ReasonCategory.NOT_RECEIVED, opened_at=at(4, 20)
    )
    DisputeFactory(
        order=order_of(shop, at(4, 2)),
        reason_category=Dispute.ReasonCategory.NOT_RECEIVED,
        opened_at=at(4, 21),
        status=Dispute.Status.LOST,
        closed_at=at(5, 28),
    )

    # NPS in June: week of 1 Jun: 3 (the socks' order), 9; week of 8 Jun: 5 (the shoes and jacket order), 10, 10;
    # week of 22 Jun: 7. And one in May.
    nps(shop, 3, at(6, 4), order=socks_order, comment="Slow delivery")
    nps(shop, 9, at(6, 5), order=jacket_order)
    nps(shop, 5, at(6, 10), order=both_order)
    nps(shop, 10, at(6, 11))
    nps(shop, 10, at(6, 12))
    nps(shop, 7, at(6, 23))
    nps(shop, 0, at(5, 23))

    # Support cases: first response due 10, 11, 20, 28 June (met, late, never, met); resolution due 12, 14, 25 June
    # (met, late, still open) and 29 June while waiting for the customer (paused: not judged); one due in July.
    CaseFactory(
        shop=shop,
        order=None,
        customer=None,
        first_response_due_at=at(6, 10),
        first_responded_at=at(6, 10, 11),
        resolution_due_at=at(6, 12),
        resolved_at=at(6, 11),
        status=Case.Status.RESOLVED,
    )
    CaseFactory(
        shop=shop,
        order=None,
        customer=None,
        first_response_due_at=at(6, 11),
        first_responded_at=at(6, 11, 15),
        resolution_due_at=at(6, 14),
        resolved_at=at(6, 16),
        status=Case.Status.RESOLVED,
    )
    CaseFactory(shop=shop, order=None, customer=None, first_response_due_at=at(6, 20), resolution_due_at=at(6, 25))
    CaseFactory(
        shop=shop,
        order=None,
        customer=None,
        first_response_due_at=at(6, 28),
        first_responded_at=at(6, 28, 9),
        resolution_due_at=at(6, 29),
        waiting_since=at(6, 28, 10),
        status=Case.Status.WAITING_ON_CUSTOMER,
    )
    CaseFactory(shop=shop, order=None, customer=None, first_response_due_at=at(7, 2), resolution_due_at=at(7, 5))

    # Another shop's June: a 1★ review, a return, a lost dispute, a detractor, a missed case: none of it counts.
    theirs = ProductFactory(shop=other_shop, title="Green tea")
    their_order = order_of(other_shop, at(6, 3), (theirs, 1))
    review(other_shop, theirs, 1, at(6, 12), "Stale")
    returned(their_order, theirs, at(6, 12), reason=ReturnReason.DAMAGED)
    DisputeFactory(order=their_order, opened_at=at(6, 12), status=Dispute.Status.LOST, closed_at=at(6, 13))
    nps(other_shop, 0, at(6, 12), order=their_order)
    CaseFactory(order=their_order, first_response_due_at=at(6, 12), resolution_due_at=at(6, 13))
    return {"shoes": shoes, "socks": socks, "jacket": jacket}


def test_products_are_ranked_by_weighted_signals_per_100_units_with_their_trend_and_reasons(client, owner, june):
    client.force_login(owner)

    response = client.get(PAGE, JUNE)

    assert response.status_code == 200
    rows = response.context["ranking"].rows
    assert [row["product"] for row in rows] == ["Trail shoes", "Wool socks", "Rain jacket"]
    shoes, socks, jacket = rows
    assert {key: shoes[key] for key in ("low_ratings", "returns", "disputes", "detractors", "score", "units")} == {
        "low_ratings": 3,
        "returns": 2,
        "disputes": 1,
        "detractors": 1,
        "score": 18,
        "units": 20,
    }
    assert (shoes["per_100_units"], shoes["previous_per_100_units"], shoes["trend"]) == (90.0, 30.0, "▲\u00a0200%")
    assert shoes["reasons"] == "1★: “Fell apart” (2); 2★ review (1); Dispute: Not as described (1)"
    assert (socks["score"], socks["units"], socks["per_100_units"], socks["trend"]) == (4, 5, 40.0, "new")
    assert socks["reasons"] == "2★: “Too itchy” (1); NPS detractor: “Slow delivery” (1)"
    assert (jacket["score"], jacket["units"], jacket["per_100_units"]) == (7, 40, 17.5)
    assert (jacket["previous_per_100_units"], jacket["trend"]) == (25.0, "▼\u00a030%")
    assert (
        jacket["reasons"]
        == "Dispute: Not as described (1); NPS detractor, no comment (1); Return: Not as described (1)"
    )
    page = response.content.decode()
    assert "Score = 3 × 1–2★ reviews + 2 × return requests with the product + 4 × disputes" in page


def test_the_panels_show_nps_trend_ratings_dispute_win_rate_and_sla_of_the_period(client, owner, june):
    client.force_login(owner)

    response = client.get(PAGE, JUNE)

    panels = {panel.name: content for panel, content in response.context["panels"]}
    nps_rows = [(row["start"].isoformat(), row["answers"], row["nps"]) for row in panels["nps"].table.rows]
    assert nps_rows == [("2026-06-01", 2, 0), ("2026-06-08", 3, 33), ("2026-06-22", 1, 0)]
    assert panels["nps"].headline == "17"  # 3 promoters − 2 detractors of 6 answers
    ratings = [(row["stars"], row["reviews"], row["percent"]) for row in panels["ratings"].table.rows]
    assert ratings == [(5, 2, 25.0), (4, 1, 12.5), (3, 1, 12.5), (2, 2, 25.0), (1, 2, 25.0)]
    assert panels["ratings"].headline == "2.9★"  # 23 stars / 8 reviews
    disputes = [
        (row["reason"], row["won"], row["lost"], row["win_rate"]) for row in panels["dispute_win_rate"].table.rows
    ]
    assert disputes == [
        ("Fraudulent / unrecognised", 0, 1, 0.0),
        ("Not as described", 1, 0, 100.0),
        ("All reasons", 1, 1, 50.0),
    ]
    sla = [(row["due"], row["met"], row["missed"], row["attainment"]) for row in panels["sla"].table.rows]
    assert sla == [(4, 2, 2, 50.0), (3, 1, 2, 33.3)]


def test_the_page_draws_its_charts_as_svg(client, owner, june):
    client.force_login(owner)

    page = client.get(PAGE, JUNE).content.decode()

    assert page.count('<svg class="insight-chart"') == 5  # ranking, NPS, ratings, win rate, SLA
    assert 'aria-label="Score per 100 units sold: this period and the period before"' in page
    assert 'aria-label="Reviews by stars"' in page
    assert "<script" not in page.split('<ul class="insight-tabs">')[1]


@pytest.mark.parametrize(
    ("language", "weeks", "western"),
    [("zh-hans", ["6月1日", "6月8日", "6月22日"], "1 6月"), ("ko", ["6월 1일", "6월 8일", "6월 22일"], "1 6월")],
)
def test_the_nps_weeks_are_labelled_as_chinese_and_korean_write_a_day(client, owner, june, language, weeks, western):
    client.force_login(owner)

    page = client.get(PAGE, JUNE, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    chart = page[page.index('id="voice-nps"') :]
    assert all(f">{week}<" in chart for week in weeks)
    assert western not in chart


def test_the_ranking_downloads_as_csv_with_every_product(client, owner, june):
    client.force_login(owner)

    response = client.get(PAGE, {**JUNE, "csv": "products"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="products-2026-06-01-2026-06-30.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0] == (
        "Product,Score per 100 units,Score,1–2★ reviews,Returns,Disputes,NPS detractors,Units sold,"
        '"Period before, per 100 units",Trend,Top reasons'
    )
    assert lines[1:] == [
        "Trail shoes,90.0,18,3,2,1,1,20,30.0,▲\u00a0200%,1★: “Fell apart” (2); 2★ review (1); Dispute: Not as described (1)",
        "Wool socks,40.0,4,1,0,0,1,5,0.0,new,2★: “Too itchy” (1); NPS detractor: “Slow delivery” (1)",
        "Rain jacket,17.5,7,0,1,1,1,40,25.0,▼\u00a030%,"  # the reasons hold a comma: quoted
        '"Dispute: Not as described (1); NPS detractor, no comment (1); Return: Not as described (1)"',
    ]
    sla_csv = client.get(PAGE, {**JUNE, "csv": "sla_attainment"}).content.decode().splitlines()
    assert sla_csv == ["Clock,Fell due,Met,Missed,Attainment", "First response,4,2,2,50.0", "Resolution,3,1,2,33.3"]


def test_another_shops_figures_are_not_counted_and_its_id_answers_404(client, owner, other_shop, june):
    client.force_login(owner)

    assert client.get(PAGE, {**JUNE, "shop": other_shop.pk}).status_code == 404
    response = client.get(PAGE, JUNE)
    assert "Green tea" not in response.content.decode()
    panels = {panel.name: content for panel, content in response.context["panels"]}
    assert panels["nps"].table.rows[0]["answers"] == 2  # their 0 on 12 June is not ours
    assert panels["dispute_win_rate"].table.rows[-1]["decided"] == 2


def test_the_other_shops_owner_sees_only_their_own_product(client, other_owner, june):
    client.force_login(other_owner)

    rows = client.get(PAGE, JUNE).context["ranking"].rows

    # 1 review × 3 + 1 return × 2 + 1 dispute × 4 + 1 detractor × 1 = 10, on 1 unit counted as 10: 100.0
    assert [(row["product"], row["score"], row["per_100_units"]) for row in rows] == [("Green tea", 10, 100.0)]


def test_the_page_takes_a_fixed_number_of_queries(client, owner, june, django_assert_num_queries):
    client.force_login(owner)
    client.get(PAGE, JUNE)  # warm the session and the content types

    # session, user, the person's zone, memberships, shops (5); 4 sources × 2 periods (8); titles and units sold (2);
    # NPS, ratings, dispute win rate, SLA (4); the admin's menu: the person's permissions (2)
    with django_assert_num_queries(21):
        response = client.get(PAGE, JUNE)

    assert response.status_code == 200


def test_a_csv_reads_only_its_own_table(client, owner, june, django_assert_num_queries):
    client.force_login(owner)
    client.get(PAGE, JUNE)  # warm the session and the content types

    # The page's 21 less the panels (4) and the admin's menu (2): session, user, zone, memberships, shops (5);
    # 4 sources × 2 periods (8); titles and units sold (2)
    with django_assert_num_queries(15):
        products = client.get(PAGE, {**JUNE, "csv": "products"})
    # The five of the frame and the SLA panel's one: no ranking, no other panel
    with django_assert_num_queries(6):
        sla = client.get(PAGE, {**JUNE, "csv": "sla_attainment"})

    assert len(products.content.decode().splitlines()) == 4  # header and the three products
    assert sla.content.decode().splitlines()[1] == "First response,4,2,2,50.0"


# --- the ranking on its own, with a stand-in source -------------------------------------------------------------


@pytest.fixture
def only_stand_in_sources():
    saved_sources, saved_panels = dict(voice._sources), dict(voice._panels)
    voice._sources.clear()
    voice._panels.clear()
    yield
    voice._sources.clear()
    voice._sources.update(saved_sources)
    voice._panels.clear()
    voice._panels.update(saved_panels)


def test_the_page_shows_the_worst_20_and_the_csv_all_of_them(client, owner, shop, only_stand_in_sources, now):
    products = [ProductFactory(shop=shop, title=f"Product {n:02d}") for n in range(1, 26)]
    # Product n has n complaints in the period and none before; nothing sold, so each counts as 10 units.
    negative_signal_register(
        SignalSource(
            "complaints", "Complaints", 1, lambda scope: [(p.pk, "Said so", n) for n, p in enumerate(products, 1)]
        )
    )
    client.force_login(owner)

    response = client.get(PAGE, JUNE)

    shown = response.context["ranking"].rows
    assert len(shown) == 20
    assert (shown[0]["product"], shown[0]["per_100_units"]) == ("Product 25", 250.0)
    assert shown[-1]["product"] == "Product 06"
    assert "The 20 worst of 25 products; the CSV has them all." in response.content.decode()
    assert len(client.get(PAGE, {**JUNE, "csv": "products"}).content.decode().splitlines()) == 26


def test_a_source_is_asked_for_the_period_and_the_one_before(shop, only_stand_in_sources):
    product = ProductFactory(shop=shop, title="Mug")
    asked = []

    def rows(scope):
        asked.append((scope.start, scope.end))
        return [(product.pk, "Chipped", 2)] if scope.start == dt.date(2026, 6, 1) else [(product.pk, "Chipped", 4)]

    negative_signal_register(SignalSource("chips", "Chips", 5, rows))
    negative_signal_register(SignalSource("chips", "Chips", 1, rows))  # registered again: replaced

    scope = InsightScope((shop.pk,), dt.date(2026, 6, 1), dt.date(2026, 6, 30), dt.UTC)
    [mug] = product_voice_list(scope)

    assert asked == [(dt.date(2026, 6, 1), dt.date(2026, 6, 30)), (dt.date(2026, 5, 2), dt.date(2026, 5, 31))]
    assert (mug.score, mug.previous_score, mug.per_100_units, mug.change_percent) == (2, 4, 20.0, -50.0)
    assert mug.reasons == [("Chipped", 2)]


def test_a_product_of_another_shop_named_by_a_source_is_not_shown(shop, other_shop, only_stand_in_sources):
    ours, theirs = ProductFactory(shop=shop), ProductFactory(shop=other_shop)
    negative_signal_register(SignalSource("all", "All", 1, lambda scope: [(ours.pk, "x", 1), (theirs.pk, "x", 9)]))

    scope = InsightScope((shop.pk,), dt.date(2026, 6, 1), dt.date(2026, 6, 30), dt.UTC)

    assert [voice.product_id for voice in product_voice_list(scope)] == [ours.pk]


def test_units_sold_are_summed_in_the_database_for_both_periods(shop, only_stand_in_sources):
    product = ProductFactory(shop=shop)
    order_of(shop, at(6, 1, 4), (product, 3))  # 00:00 in New York on 1 June: this period
    order_of(shop, at(6, 1, 3), (product, 2))  # 23:00 on 31 May: the period before
    OrderLineFactory(order=order_of(shop, at(6, 20), (product, 1)), product=product, quantity=4, unit_price=Decimal(1))
    negative_signal_register(SignalSource("all", "All", 1, lambda scope: [(product.pk, "x", 1)]))

    import zoneinfo

    scope = InsightScope((shop.pk,), dt.date(2026, 6, 1), dt.date(2026, 6, 30), zoneinfo.ZoneInfo("America/New_York"))
    [found] = product_voice_list(scope)

    assert (found.units, found.previous_units) == (8, 2)


def test_a_quiet_period_shows_empty_tables_and_no_ranking_chart(client, owner, now):
    client.force_login(owner)

    response = client.get(PAGE, JUNE)

    assert response.status_code == 200
    assert response.context["ranking"].rows == []
    page = response.content.decode()
    assert "Nothing in this period." in page
    assert 'aria-label="Score per 100 units sold: this period and the period before"' not in page


def test_a_person_of_no_shop_sees_no_figures(client, db):
    from merchant.tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody@example.com"))

    response = client.get(PAGE)

    assert response.status_code == 200
    assert "You do not belong to any shop yet." in response.content.decode()
    assert response.context["panels"] == []


def test_a_panel_that_does_not_name_its_table_still_downloads_it(client, owner, only_stand_in_sources):
    def stand_in(scope):
        table = Table(name="stand_in", title="Stand-in", columns=[Column("n", "N", numeric=True)], rows=[{"n": 7}])
        return VoicePanelContent(headline="7", table=table)

    voice_panel_register(VoicePanel(name="stand_in", title="Stand-in", build=stand_in))
    client.force_login(owner)

    assert client.get(PAGE, {**JUNE, "csv": "stand_in"}).content.decode().splitlines() == ["N", "7"]
    assert "Stand-in" in client.get(PAGE, JUNE).content.decode()

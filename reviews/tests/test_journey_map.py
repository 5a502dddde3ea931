"""The journey map (the admin's landing page) over a shop history worked out by hand (reviews/tests/journey_seed.py).

Cohort: the 10 orders placed from 1 to 30 November 2026 in New York. Closed funnel, each stage also passing the
ones before: placed 10; paid 8 (#6 unpaid, #7 cancelled unpaid); shipped 4 (#1-#4); delivered 3 (#1-#3);
reviewed 2 (#1, #2); bought again 1 (#1: Ann ordered #9 within 90 days; #3's customer came back too, but wrote
no review); advocate 1 (#1: Ann's friend Fay ordered #10 with her code after it).
By any path: bought again 2 (#1, #3; Ben's later order was cancelled), advocate 2 (#1 and #9, both before #10).
"""

import datetime as dt
import re

import pytest
from django.urls import reverse

from journeys.insight.journey import journey_figures, journey_stage_get, journey_stage_orders
from journeys.insight.scope import InsightScope
from reviews.tests.journey_seed import NEW_YORK, journey_seed

pytestmark = pytest.mark.django_db

NOVEMBER = dt.date(2026, 11, 1)
PERIOD = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def seeded(shop, other_shop):
    return journey_seed(shop, other_shop, first_day=NOVEMBER)


def test_the_figures_follow_the_cohort_through_every_stage(shop, seeded):
    scope = InsightScope((shop.pk,), NOVEMBER, dt.date(2026, 11, 30), NEW_YORK)

    figures = journey_figures(scope)

    assert [(f.stage.name, f.orders, f.dropped, f.of_previous, f.of_placed, f.reached) for f in figures.stages] == [
        ("placed", 10, 0, None, 100.0, 10),
        ("paid", 8, 2, 80.0, 80.0, 8),
        ("shipped", 4, 4, 50.0, 40.0, 4),
        ("delivered", 3, 1, 75.0, 30.0, 3),
        ("reviewed", 2, 1, 66.7, 20.0, 2),
        ("bought_again", 1, 1, 50.0, 10.0, 2),
        ("advocate", 1, 0, 100.0, 10.0, 2),
    ]
    assert (figures.placed, figures.cancelled, figures.refunded) == (10, 1, 1)


def test_the_period_is_counted_in_the_shops_zone(shop, seeded):
    # A period of one day: 1 November in New York holds #6 (00:10 local, 04:10 UTC), not Jon's order of
    # 31 October 23:30 local, which is already 1 November in UTC.
    scope = InsightScope((shop.pk,), NOVEMBER, NOVEMBER, NEW_YORK)

    orders = journey_stage_orders(scope, journey_stage_get("placed"))

    assert [order.number for order in orders] == ["#6"]


def test_the_map_is_the_admins_landing_page_with_the_figures(client, owner, seeded, django_assert_num_queries):
    client.force_login(owner)

    # session, user, the person's zone (middleware), their shops' roles, the shops, the stages in ONE query, the
    # period's messages per rule in ONE query, the rules, and the person's permissions (user and group) for the sidebar
    with django_assert_num_queries(10):
        response = client.get(reverse("admin:index"), PERIOD)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Journey map" in page
    assert "The orders placed from 1 Nov 2026 to 30 Nov 2026 (America/New_York) in Alpha Shoes" in page
    for label in ("Placed", "Paid", "Shipped", "Delivered", "Reviewed", "Bought again", "Advocate"):
        assert f">{label}</text>" in page  # a stage of the flow
    assert '<svg class="insight-chart"' in page
    start = page.index('class="journey-headline"')
    headline = page[start : page.index("</ul>", start)]
    for figure in ("10", "80%", "30%", "67%", "20%"):  # placed, paid, delivered, reviewed of delivered, repeat
        assert f'<span class="figure">{figure}</span>' in headline
    assert "All sections" in page
    assert response.context["app_list"]  # the model sections the old index listed


@pytest.mark.parametrize(
    ("language", "start", "end"),
    [("zh-hans", "2026年11月1日", "2026年11月30日"), ("ko", "2026년 11월 1일", "2026년 11월 30일")],
)
def test_the_period_reads_as_chinese_and_korean_write_a_date(client, owner, seeded, language, start, end):
    client.force_login(owner)

    page = client.get(reverse("admin:index"), PERIOD, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    cohort = page[page.index('class="journey-cohort"') :]
    cohort = cohort[: cohort.index("</p>")]
    assert start in cohort
    assert end in cohort
    assert "Nov" not in cohort
    assert "11月 2026" not in cohort


def test_the_stage_table_downloads_as_csv(client, owner, seeded):
    client.force_login(owner)

    response = client.get(reverse("admin:index"), {**PERIOD, "csv": "stages"})

    assert response["Content-Disposition"] == 'attachment; filename="stages-2026-11-01-2026-11-30.csv"'
    assert response.content.decode().splitlines() == [
        "Stage,Orders,% of the stage before,% of orders placed,Stopped before it,Reached by any path",
        "Placed,10,,100.0,,10",
        "Paid,8,80.0,80.0,2,8",
        "Shipped,4,50.0,40.0,4,4",
        "Delivered,3,75.0,30.0,1,3",
        "Reviewed,2,66.7,20.0,1,2",
        "Bought again,1,50.0,10.0,1,2",
        "Advocate,1,100.0,10.0,0,2",
    ]


def test_a_csv_reads_only_its_own_table(client, owner, seeded, django_assert_num_queries):
    client.force_login(owner)

    # The page's 10 less what the other table, the flow and the sidebar need: session, user, zone, roles, shops,
    # and the stages in ONE query
    with django_assert_num_queries(6):
        stages = client.get(reverse("admin:index"), {**PERIOD, "csv": "stages"})
    # ... or the period's messages per rule and the rules
    with django_assert_num_queries(7):
        rules = client.get(reverse("admin:index"), {**PERIOD, "csv": "rules"})

    assert stages.content.decode().splitlines()[2] == "Paid,8,80.0,80.0,2,8"
    assert rules.content.decode().splitlines()[2] == "Shipped,Shipped,yes,3,2,1,50.0"


def test_the_rules_table_counts_each_rules_messages_of_the_period_by_stage(client, owner, seeded):
    client.force_login(owner)

    response = client.get(reverse("admin:index"), {**PERIOD, "csv": "rules"})

    assert response.content.decode().splitlines() == [
        'Rule,Stage,On,Planned,Sent,Clicked,"Clicked, % of sent"',
        "Unpaid reminder,Placed,yes,1,0,0,",
        "Shipped,Shipped,yes,3,2,1,50.0",
        "Review request,Delivered,yes,2,2,2,100.0",
        "Holiday greeting,Outside the journey,no,0,0,0,",
    ]


def test_each_rule_links_to_its_performance_page_or_else_to_itself(client, owner, seeded):
    client.force_login(owner)

    page = client.get(reverse("admin:index"), PERIOD).content.decode()

    try:
        expected = reverse("admin:insight_rules")
    except Exception:  # the rule performance page is another page's work; without it the rule's own page
        expected = reverse("admin:journeys_carerule_change", args=[seeded.rules["shipped"].pk])
    assert f'href="{expected}' in page


def test_another_shops_id_answers_404_and_its_orders_are_never_counted(client, owner, other_shop, seeded):
    client.force_login(owner)

    assert client.get(reverse("admin:index"), {**PERIOD, "shop": other_shop.pk}).status_code == 404
    url = reverse("admin:insight_journey_stage", args=["delivered"])
    assert client.get(url, {**PERIOD, "shop": other_shop.pk}).status_code == 404
    listed = client.get(url, PERIOD).content.decode()
    assert "#Z1" not in listed


def test_a_superuser_sees_every_shop(client, superuser, seeded):
    client.force_login(superuser)

    response = client.get(reverse("admin:index"), {**PERIOD, "csv": "stages"})

    lines = response.content.decode().splitlines()
    assert lines[1] == "Placed,11,,100.0,,11"  # and Beta Tea's delivered, reviewed order
    assert lines[4] == "Delivered,4,80.0,36.4,1,4"
    assert lines[5] == "Reviewed,3,75.0,27.3,1,3"


def test_a_stage_lists_exactly_its_orders_linked_to_their_pages(client, owner, seeded, django_assert_num_queries):
    client.force_login(owner)
    url = reverse("admin:insight_journey_stage", args=["reviewed"])

    # session, user, the person's zone, roles, shops, permissions (2), the count, the page of orders with their
    # customers and shops
    with django_assert_num_queries(9):
        response = client.get(url, PERIOD)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Orders that reached “Reviewed”" in page
    listed = [
        number for number in ("#1", "#2", "#3", "#4", "#5", "#6", "#7", "#8", "#9", "#10") if f">{number}<" in page
    ]
    assert listed == ["#1", "#2"]
    assert reverse("admin:merchant_order_change", args=[seeded.orders["#1"].pk]) in page


def test_the_orders_that_stopped_before_a_stage_are_listed_too(client, owner, seeded):
    client.force_login(owner)
    url = reverse("admin:insight_journey_stage", args=["reviewed"])

    page = client.get(url, {**PERIOD, "stopped": "1"}).content.decode()

    assert "Orders that stopped before “Reviewed”" in page
    assert [n for n in ("#1", "#2", "#3", "#4") if f">{n}<" in page] == ["#3"]


def test_the_map_links_each_stage_and_drop_off_to_its_orders(client, owner, seeded):
    client.force_login(owner)

    page = client.get(reverse("admin:index"), PERIOD).content.decode()

    link = reverse("admin:insight_journey_stage", args=["advocate"]) + "?start=2026-11-01&amp;end=2026-11-30"
    assert page.count(f'href="{link}"') == 2  # the flow's stage and the table's row
    cancelled = client.get(reverse("admin:insight_journey_stage", args=["cancelled"]), PERIOD).content.decode()
    assert ">#7<" in cancelled
    assert ">#8<" not in cancelled


def test_an_unknown_stage_answers_404(client, owner, seeded):
    client.force_login(owner)

    assert client.get(reverse("admin:insight_journey_stage", args=["nope"]), PERIOD).status_code == 404


def test_every_rule_link_on_the_map_opens_a_page_greetings_their_own_rule(client, owner, seeded):
    # Given the map with a holiday greeting's rule among the rules (not on the rule performance page)
    client.force_login(owner)
    page = client.get(reverse("admin:index"), PERIOD).content.decode()
    rule_link = re.escape(reverse("admin:insight_rules")) + r"\?[^\"]*rule=\d+|/admin/journeys/carerule/\d+/change/"
    links = {href.replace("&amp;", "&") for href in re.findall(f'href="({rule_link})', page)}
    greeting = seeded.rules["greeting"]

    # When each rule link is followed, then every one opens, the greeting's on the rule itself
    assert len(links) == 4
    assert reverse("admin:journeys_carerule_change", args=[greeting.pk]) in links
    assert {link: client.get(link).status_code for link in links} == dict.fromkeys(links, 200)

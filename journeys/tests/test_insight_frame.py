"""The dashboard's frame: scope within the person's shops, tables as CSV, charts as SVG."""

import pytest
from django.urls import clear_url_caches

from journeys.insight.charts import Bar, Series, bar_chart, column_chart, line_chart
from journeys.insight.pages import InsightPage, insight_page_register, insight_render
from journeys.insight.scope import insight_scope_from_request
from journeys.insight.tables import Column, Table

pytestmark = pytest.mark.django_db


def _example_view(request):
    scope, form = insight_scope_from_request(request)
    table = Table(
        name="shops",
        title="Shops",
        columns=[Column("shop", "Shop"), Column("count", "Count", numeric=True)],
        rows=[{"shop": f"=shop {shop_id}", "count": shop_id} for shop_id in scope.shop_ids],
    )
    return insight_render(
        request, page="insight_example", template="admin/insight/base.html", scope=scope, form=form, tables=[table]
    )


@pytest.fixture
def example_page(settings):
    insight_page_register(
        InsightPage(name="insight_example", title="Example", route="insight/example/", view=_example_view, position=99)
    )
    import importlib

    import merchant.urls

    clear_url_caches()
    importlib.reload(merchant.urls)
    yield "/admin/insight/example/"
    clear_url_caches()


def test_a_table_downloads_as_csv_of_the_persons_shops_only(client, owner, shop, other_shop, example_page):
    client.force_login(owner)

    response = client.get(example_page, {"csv": "shops"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines == ["Shop,Count", f"'=shop {shop.pk},{shop.pk}"]


def test_another_shops_id_answers_404_and_a_table_the_page_has_not_too(client, owner, other_shop, example_page):
    client.force_login(owner)

    assert client.get(example_page, {"shop": other_shop.pk}).status_code == 404
    assert client.get(example_page, {"csv": "nope"}).status_code == 404


def test_an_end_before_the_start_is_named_on_the_form(client, owner, example_page):
    client.force_login(owner)

    response = client.get(example_page, {"start": "2026-11-10", "end": "2026-11-01"})

    assert response.status_code == 400
    assert "The end is before the start." in response.content.decode()


def test_charts_are_svg_with_a_title_and_escaped_labels():
    bars = bar_chart([Bar("<b>Shoes</b>", 3), Bar("Hats", 1, tone="bad")], title="Returns")
    columns = column_chart([Bar("1★", 2), Bar("5★", 8)], title="Ratings")
    lines = line_chart(["W1", "W2", "W3"], [Series("NPS", [10, None, 30])], title="NPS")

    for svg in (bars, columns, lines):
        assert svg.startswith('<svg class="insight-chart"')
        assert "<title>" in svg
    assert "&lt;b&gt;Shoes&lt;/b&gt;" in bars
    assert "<b>" not in bars
    assert lines.count("<circle") == 2  # a gap splits the line: two lone points

"""A customer who keeps checking their order before delivery (journeys.status) is flagged in the support queue:
the order's case gets an item saying how often they looked, opened for it when the order had none, and the
queue shows the badge. The status page offers "Start a return" once the order is delivered."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from journeys.status.links import order_status_token
from journeys.status.services import order_status_visit_record
from merchant.actors import Actor
from merchant.services import orders
from merchant.tests.factories import CustomerFactory
from returns.models import Case, CaseEvent, CaseItem
from returns.services.cases import case_get_or_create, case_status_set

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
QUEUE = reverse("admin:returns_case_changelist")


def shipped_order(shop, number="#3001"):
    customer = CustomerFactory(shop=shop, first_name="Lena")
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="USD",
        actor=SYSTEM,
        customer=customer,
        placed_at=timezone.now() - dt.timedelta(days=3),
        lines=[orders.LineInput(title="Rain jacket", quantity=1, unit_price=Decimal("89.00"))],
    )
    orders.order_mark_paid(order=order, actor=SYSTEM, occurred_at=timezone.now() - dt.timedelta(days=3))
    return orders.order_mark_shipped(
        order=order, actor=SYSTEM, occurred_at=timezone.now() - dt.timedelta(days=2), carrier="UPS"
    )


def keep_checking(order, times=3):
    now = timezone.now()
    for index in range(times):
        order_status_visit_record(order=order, visitor=f"browser-{index}", now=now - dt.timedelta(minutes=30 * index))


def test_the_third_visit_opens_a_case_that_says_how_often_the_customer_looked(shop, support_settings):
    order = shipped_order(shop)

    keep_checking(order)

    case = Case.objects.get(order=order)
    assert (case.status, case.customer_id) == ("new", order.customer_id)
    [item] = case.items.all()
    assert item.kind == CaseItem.Kind.STATUS_CHECKS
    assert item.summary == "Customer checked the order status 3 times in 24 hours, before delivery"
    assert item.admin_path == reverse("admin:merchant_order_change", args=[order.pk])
    assert item.source.startswith("journeys.orderstatusvisit:")


def test_the_orders_existing_case_is_flagged_and_opened_again_when_it_was_resolved(shop, support_settings, agent):
    order = shipped_order(shop)
    case, _created = case_get_or_create(shop=shop, order=order, customer=order.customer, actor=SYSTEM)
    case_status_set(case=case, to=Case.Status.RESOLVED, actor=SYSTEM)

    keep_checking(order)

    case.refresh_from_db()
    assert Case.objects.filter(order=order).count() == 1
    assert case.status == Case.Status.OPEN
    assert list(case.items.values_list("kind", flat=True)) == [CaseItem.Kind.STATUS_CHECKS]
    assert CaseEvent.objects.filter(case=case, action="item_added").count() == 1


def test_more_visits_in_the_same_window_add_nothing(shop, support_settings):
    order = shipped_order(shop)
    keep_checking(order, times=5)
    assert CaseItem.objects.filter(case__order=order).count() == 1


def test_the_queue_shows_the_badge_and_the_case_page_the_words(client, agent, shop, support_settings):
    order = shipped_order(shop)
    keep_checking(order)
    case = Case.objects.get(order=order)
    client.force_login(agent)

    queue = client.get(QUEUE, {"view": "all"})

    [row] = queue.context["rows"]
    assert row["badges"] == [(CaseItem.Kind.STATUS_CHECKS, "Checking status")]
    assert 'class="sq-badge status_checks">Checking status</span>' in queue.content.decode()
    page = client.get(reverse("admin:returns_case_change", args=[case.pk])).content.decode()
    assert "Customer checked the order status 3 times in 24 hours, before delivery" in page
    filtered = client.get(QUEUE, {"view": "all", "kind": "status_checks"})
    assert [r["case"].pk for r in filtered.context["rows"]] == [case.pk]


def test_the_status_page_of_a_delivered_order_offers_its_return_portal(client, order):
    token = order_status_token(order_id=order.pk, shop_id=order.shop_id)
    response = client.get(reverse("order-status", args=[token]))
    [action] = [action for action in response.context["page"].actions if action.name == "return"]
    portal = client.get(urlsplit(action.url).path)
    assert portal.status_code == 200
    assert portal.context["order"] == order
    assert "Start a return" in response.content.decode()


def test_the_status_page_of_an_order_on_its_way_offers_no_return(client, shop):
    order = shipped_order(shop)
    token = order_status_token(order_id=order.pk, shop_id=order.shop_id)
    response = client.get(reverse("order-status", args=[token]))
    assert [action.name for action in response.context["page"].actions] == []

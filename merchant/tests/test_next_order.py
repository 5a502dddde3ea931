"""Each order knows when the same customer next placed an order that was not cancelled (the dashboard's "bought
again"), kept by the order services as orders are created, cancelled and moved between customers."""

import datetime as dt

import pytest

from merchant import services
from merchant.actors import Actor
from merchant.models import Order
from merchant.services.orders import order_details_update
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor.webhook("shopify")
START = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _place(shop, customer, day: int) -> Order:
    return services.order_create(
        shop=shop,
        customer=customer,
        number=f"#{day}",
        currency="USD",
        actor=ACTOR,
        placed_at=START + dt.timedelta(days=day),
    )


def _next_orders(*orders: Order) -> list[dt.datetime | None]:
    placed = dict(Order.objects.filter(pk__in=[order.pk for order in orders]).values_list("pk", "next_order_placed_at"))
    return [placed[order.pk] for order in orders]


def test_an_order_learns_of_the_customers_next_one_as_it_is_placed(shop):
    customer = CustomerFactory(shop=shop)
    first = _place(shop, customer, 0)
    assert _next_orders(first) == [None]

    third = _place(shop, customer, 30)
    second = _place(shop, customer, 10)  # arrives late from the platform, placed in between

    assert _next_orders(first, second, third) == [START + dt.timedelta(days=10), START + dt.timedelta(days=30), None]


def test_a_cancelled_order_is_nobodys_next_order(shop):
    customer = CustomerFactory(shop=shop)
    first, second, third = (_place(shop, customer, day) for day in (0, 10, 30))

    services.order_cancel(order=second, actor=ACTOR, reason="customer asked")

    # The first order's next one is now the third; the cancelled order itself still looks ahead.
    assert _next_orders(first, second, third) == [START + dt.timedelta(days=30), START + dt.timedelta(days=30), None]


def test_moving_an_order_to_another_customer_updates_both_customers(shop):
    anna, ben = CustomerFactory(shop=shop), CustomerFactory(shop=shop)
    annas_first, moved = _place(shop, anna, 0), _place(shop, anna, 5)
    bens_first = _place(shop, ben, 1)
    assert _next_orders(annas_first, bens_first) == [START + dt.timedelta(days=5), None]

    order_details_update(order=moved, actor=ACTOR, customer=ben)

    assert _next_orders(annas_first, bens_first, moved) == [None, START + dt.timedelta(days=5), None]


def test_other_customers_and_guest_orders_are_left_alone(shop):
    anna, ben = CustomerFactory(shop=shop), CustomerFactory(shop=shop)
    annas = _place(shop, anna, 0)
    guest = _place(shop, None, 1)
    _place(shop, ben, 2)

    assert _next_orders(annas, guest) == [None, None]

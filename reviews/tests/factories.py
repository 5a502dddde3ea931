"""Test data for reviews. Rows are written directly; tests about a lifecycle go through the services."""

import datetime as dt
from decimal import Decimal

import factory
import time_machine
from django.utils import timezone

from journeys.services.dispatch import Dispatcher
from merchant.actors import Actor
from merchant.services import orders
from merchant.tests.factories import CustomerFactory, MerchantFactory, OrderFactory, OrderLineFactory
from reviews.models import Review, ReviewRequest, ReviewRequestItem

SYSTEM = Actor.system("test")
# Wednesday 3 June 2026, 14:00 UTC = 10:00 in New York: inside every send window.
DELIVERED_AT = dt.datetime(2026, 6, 3, 14, 0, tzinfo=dt.UTC)


class ReviewRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReviewRequest

    shop = factory.SubFactory(MerchantFactory)
    customer = factory.SubFactory(CustomerFactory, shop=factory.SelfAttribute("..shop"))
    order = factory.SubFactory(
        OrderFactory, shop=factory.SelfAttribute("..shop"), customer=factory.SelfAttribute("..customer")
    )
    group_days = 7
    due_at = factory.LazyFunction(timezone.now)


class ReviewRequestItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReviewRequestItem

    request = factory.SubFactory(ReviewRequestFactory)
    order_line = factory.SubFactory(OrderLineFactory, order=factory.SelfAttribute("..request.order"))
    title = factory.SelfAttribute("order_line.title")


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    shop = factory.SubFactory(MerchantFactory)
    rating = 4
    title = "Comfortable"
    text = "Warm and soft, a good fit."
    product_title = "Wool socks"
    status = Review.Status.PUBLISHED
    submitted_at = factory.LazyFunction(timezone.now)


def delivered_order(shop, customer, products, *, number="#1001", at=DELIVERED_AT, language=""):
    """An order of `products` paid, shipped and delivered at `at` through the real services."""
    with time_machine.travel(at - dt.timedelta(days=3), tick=False):
        order = orders.order_create(
            shop=shop,
            number=number,
            currency="USD",
            actor=SYSTEM,
            customer=customer,
            language=language,
            lines=[
                orders.LineInput(title=product.title, product=product, unit_price=Decimal("20"), external_id=f"l{i}")
                for i, product in enumerate(products)
            ],
        )
        orders.order_mark_paid(order=order, actor=SYSTEM)
        orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="UPS", tracking_number="1Z999")
    with time_machine.travel(at, tick=False):
        orders.order_mark_delivered(order=order, actor=SYSTEM, occurred_at=at)
    order.refresh_from_db()
    return order


def drain() -> dict[str, int]:
    with Dispatcher() as dispatcher:
        return dict(dispatcher.drain().tally)

"""Factories of the returns tests. Rows made here skip the services: use them to set a scene, not to test a move."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from merchant.models import Order
from merchant.tests.factories import MerchantFactory, OrderFactory, OrderLineFactory
from returns.models import (
    Case,
    Dispute,
    Refund,
    ReturnLine,
    ReturnPolicy,
    ReturnReason,
    ReturnRequest,
    SupportSettings,
)


def delivered_order(*, shop, days_ago: int = 3, lines: int = 2, unit_price: Decimal = Decimal("40.00"), **kwargs):
    """A paid, delivered order of `shop` with `lines` lines of one item each; its total is what was paid."""
    delivered_at = timezone.now() - dt.timedelta(days=days_ago)
    order = OrderFactory(
        shop=shop,
        status=Order.Status.DELIVERED,
        placed_at=delivered_at - dt.timedelta(days=4),
        paid_at=delivered_at - dt.timedelta(days=4),
        shipped_at=delivered_at - dt.timedelta(days=2),
        delivered_at=delivered_at,
        status_changed_at=delivered_at,
        subtotal=unit_price * lines,
        total=unit_price * lines,
        **kwargs,
    )
    for n in range(lines):
        OrderLineFactory(order=order, title=f"Item {n + 1}", quantity=1, unit_price=unit_price, total=unit_price)
    return order


class ReturnPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReturnPolicy
        django_get_or_create = ("shop",)

    shop = factory.SubFactory(MerchantFactory)


class SupportSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportSettings
        django_get_or_create = ("shop",)

    shop = factory.SubFactory(MerchantFactory)


class ReturnRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReturnRequest

    order = factory.SubFactory(OrderFactory)
    shop = factory.SelfAttribute("order.shop")
    customer = factory.SelfAttribute("order.customer")
    number = factory.Sequence(lambda n: f"R{n}")
    reason = ReturnReason.TOO_SMALL
    currency = factory.SelfAttribute("order.currency")


class ReturnLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReturnLine

    return_request = factory.SubFactory(ReturnRequestFactory)
    order_line = factory.SubFactory(OrderLineFactory, order=factory.SelfAttribute("..return_request.order"))
    quantity = 1


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refund

    order = factory.SubFactory(OrderFactory)
    shop = factory.SelfAttribute("order.shop")
    amount = Decimal("10.00")
    currency = factory.SelfAttribute("order.currency")
    idempotency_key = factory.Sequence(lambda n: f"refund-{n}")


class DisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dispute

    order = factory.SubFactory(OrderFactory)
    shop = factory.SelfAttribute("order.shop")
    customer = factory.SelfAttribute("order.customer")
    provider = Dispute.Provider.SHOPIFY
    external_id = factory.Sequence(lambda n: f"dispute-{n}")
    amount = Decimal("100.00")
    currency = "USD"
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    order = factory.SubFactory(OrderFactory)
    shop = factory.SelfAttribute("order.shop")
    customer = factory.SelfAttribute("order.customer")
    number = factory.Sequence(lambda n: n + 1)
    subject = factory.LazyAttribute(lambda case: f"Order {case.order.number}" if case.order else "Customer message")


# --- refunds -------------------------------------------------------------------------------------------


def inspected_return(
    *, order, lines: list[tuple[int, str, int, Decimal]], restocking_fee: Decimal = Decimal("0"), **kwargs
):
    """An inspected return of `order`: one (line index, disposition, accepted quantity, credit) per returned line."""
    request = ReturnRequestFactory(
        order=order, status=ReturnRequest.Status.INSPECTED, restocking_fee=restocking_fee, **kwargs
    )
    order_lines = list(order.lines.order_by("id"))
    for index, disposition, accepted, credit in lines:
        ReturnLineFactory(
            return_request=request,
            order_line=order_lines[index],
            quantity=max(accepted, 1),
            disposition=disposition,
            accepted_quantity=accepted,
            credit_amount=credit,
        )
    return request


# --- support queue (cases) -------------------------------------------------------------------------


class MacroFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "returns.Macro"

    shop = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Macro {n}")
    language = "en"
    body = "Hi {{ customer.first_name }}, about order {{ order.number }}: it is on its way."


class AgentPresenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "returns.AgentPresence"

    shop = factory.SubFactory(MerchantFactory)
    user = factory.SubFactory("merchant.tests.factories.UserFactory")
    is_available = True

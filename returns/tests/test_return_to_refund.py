"""The whole way of a return, as the customer and staff use it: the customer asks on the portal, staff approve,
receive and inspect it in the admin, an agent refunds it with the bank's reference, and the customer is told at
each step; the order ends refunded and asking again pays nothing more."""

from decimal import Decimal

import pytest
from django.urls import reverse

from journeys.models import CareRule, Message
from journeys.services.content import message_context
from journeys.services.rules import care_rules_default_create
from merchant.models import Order
from returns.models import Case, Refund, ReturnRequest
from returns.tests.test_admin_requests import step_url
from returns.tests.test_portal import form_data, path_of

pytestmark = pytest.mark.django_db


def triggers_planned(order) -> list[str]:
    return list(Message.objects.filter(order=order).order_by("id").values_list("trigger", flat=True))


def test_a_return_goes_from_the_customers_request_to_the_refund_with_the_customer_told_at_each_step(
    client, agent, order, return_policy
):
    # Given a delivered order of two items at 40.00, the shop's refund message on, and a policy that approves
    # nothing by itself
    care_rules_default_create(order.shop)
    CareRule.objects.filter(shop=order.shop, trigger="refund_processed").update(is_active=True)
    return_policy.auto_approve_reasons = []
    return_policy.auto_approve_max_amount = None
    return_policy.save()
    first, _second = order.lines.order_by("id")

    # When the customer asks to return the first item on the portal (too small)
    response = client.post(path_of(order), form_data(order))
    assert response.status_code == 303  # to the return's own page
    request = ReturnRequest.objects.get(order=order)
    assert request.status == ReturnRequest.Status.REQUESTED
    assert triggers_planned(order)[-1] == "return_requested"

    # And staff approve it, see it travel back, receive and inspect it
    client.force_login(agent)
    assert client.post(step_url(request, "approve"), {"note": ""}).status_code == 302
    client.post(step_url(request, "in_transit"), {"carrier": "DHL", "tracking_number": "JJD42"})
    client.post(step_url(request, "received"), {"note": ""})
    line = request.lines.get()
    client.post(
        step_url(request, "inspect"), {f"line-{line.pk}-disposition": "accept", f"line-{line.pk}-restock": "on"}
    )
    request.refresh_from_db()
    assert request.status == ReturnRequest.Status.INSPECTED

    # And an agent refunds it to the original payment (a bank transfer, so its reference is asked for)
    client.post(reverse("admin:returns_refund_new"), {"return_request": request.pk, "method": "original_payment"})
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.status) == (Decimal("40.00"), Refund.Status.APPROVED)
    client.post(reverse("admin:returns_refund_process", args=[refund.pk]), {"reference": "SEPA-2026-0042"})

    # Then the money went back once, the order is partly refunded and the return resolved
    refund.refresh_from_db()
    order.refresh_from_db()
    request.refresh_from_db()
    assert (refund.status, refund.reference) == (Refund.Status.SUCCEEDED, "SEPA-2026-0042")
    assert (order.status, order.refunded_total) == (Order.Status.PARTIALLY_REFUNDED, Decimal("40.00"))
    assert request.status == ReturnRequest.Status.RESOLVED
    # And the customer was told at each step, the refund with its amount, method and timing
    assert [t for t in triggers_planned(order) if t.startswith(("return_", "refund_"))] == [
        "return_requested",
        "return_approved",
        "return_received",
        "refund_processed",
    ]
    refund_message = Message.objects.get(order=order, trigger="refund_processed")
    context = message_context(refund_message)
    assert (context["refund_method"], context["refund_timing"]) == (
        "to your original payment method",
        "within 5–10 business days",
    )
    # And every step is in the return's history with who took it
    actors = list(request.events.order_by("at", "id").values_list("to_status", "actor_kind"))
    assert actors == [
        ("requested", "customer"),
        ("approved", "user"),
        ("in_transit", "user"),
        ("received", "user"),
        ("inspected", "user"),
        ("resolved", "user"),
    ]
    # And the case of the order gathers the return and the refund
    case = Case.objects.get(order=order)
    assert list(case.items.values_list("kind", "return_request")) == [("return_request", request.pk)]

    # When the refund is asked for again (a second click, another agent), nothing more is paid
    client.post(reverse("admin:returns_refund_new"), {"return_request": request.pk, "method": "original_payment"})
    assert Refund.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.refunded_total == Decimal("40.00")

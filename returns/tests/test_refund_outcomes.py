"""An inspected return becomes its refund once, and is resolved when the money went back."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from journeys.models import CareRule, Message
from journeys.services.rules import care_rules_default_create
from merchant.actors import Actor
from returns.models import Refund, RefundMethod, ReturnRequest
from returns.services.refund_outcomes import return_request_refund
from returns.services.refunds import refund_process
from returns.services.requests import (
    LineChoice,
    LineInspection,
    return_request_approve,
    return_request_create,
    return_request_inspect,
    return_request_mark_received,
)
from returns.tests.factories import ReturnRequestFactory, inspected_return

pytestmark = pytest.mark.django_db
D = Decimal
ACCEPT, REJECT, PARTIAL = "accept", "reject", "partial"


@pytest.fixture(autouse=True)
def care_rules(shop):
    care_rules_default_create(shop)
    CareRule.objects.filter(shop=shop, trigger="refund_processed").update(is_active=True)


def test_store_credit_for_the_credited_lines_resolves_the_return(order, agent):
    # Given a return whose first line was accepted (credit 35.00 after a 5.00 restocking fee) and whose second
    # got a partial credit
    request = inspected_return(
        order=order,
        lines=[(0, ACCEPT, 1, D("35.00")), (1, PARTIAL, 1, D("15.00"))],
        restocking_fee=D("5.00"),
        refund_method=RefundMethod.STORE_CREDIT,
    )
    # When it is refunded
    refund = return_request_refund(return_request=request, actor=Actor.staff(agent))
    # Then the credits are paid as they are (the fee was taken at inspection), at once as store credit,
    # and the return is resolved
    assert (refund.status, refund.amount, refund.method) == ("succeeded", D("50.00"), "store_credit")
    assert refund.return_request == request
    assert sorted((line.quantity, line.amount) for line in refund.lines.all()) == [(1, D("15.00")), (1, D("35.00"))]
    assert "restocking fee 5.00" in refund.reason
    request.refresh_from_db()
    assert request.status == "resolved"
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("partially_refunded", D("50.00"))
    assert Message.objects.filter(order=order, trigger="refund_processed").count() == 1


def test_asking_again_returns_the_same_refund_and_pays_nothing_more(order, agent):
    request = inspected_return(order=order, lines=[(0, ACCEPT, 1, D("40.00"))], refund_method="store_credit")
    first = return_request_refund(return_request=request, actor=Actor.staff(agent))
    second = return_request_refund(return_request=request, actor=Actor.staff(agent))
    assert first.pk == second.pk
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.refunded_total == D("40.00")


def test_a_refund_to_the_original_payment_waits_for_the_reference_then_resolves_the_return(order, agent):
    request = inspected_return(order=order, lines=[(1, ACCEPT, 1, D("40.00"))])
    refund = return_request_refund(return_request=request, actor=Actor.staff(agent))
    assert refund.status == "approved"
    request.refresh_from_db()
    assert request.status == "inspected"
    refund_process(refund=refund, actor=Actor.staff(agent), reference="PSP-re_123")
    request.refresh_from_db()
    assert request.status == "resolved"
    assert request.events.get(to_status="resolved").note == "Refunded 40.00 USD."


def test_a_return_whose_every_line_was_rejected_is_closed_without_refund(order, agent):
    request = inspected_return(order=order, lines=[(0, REJECT, 0, D("0")), (1, REJECT, 0, D("0"))])
    assert return_request_refund(return_request=request, actor=Actor.staff(agent)) is None
    request.refresh_from_db()
    assert request.status == "closed_no_outcome"
    assert not Refund.objects.exists()


def test_a_return_not_yet_inspected_is_refused_naming_its_status(order, agent):
    request = ReturnRequestFactory(order=order, status=ReturnRequest.Status.RECEIVED)
    with pytest.raises(ValidationError) as refused:
        return_request_refund(return_request=request, actor=Actor.staff(agent))
    assert refused.value.message_dict["status"] == [
        f"Return {request.number} is received: only an inspected return is refunded."
    ]


def test_a_return_credited_nothing_at_inspection_is_closed_without_refund(order, agent):
    # A 100% restocking fee leaves an accepted line a credit of 0.00.
    request = inspected_return(order=order, lines=[(0, ACCEPT, 1, D("0.00"))], restocking_fee=D("40.00"))
    assert return_request_refund(return_request=request, actor=Actor.staff(agent)) is None
    request.refresh_from_db()
    assert request.status == "closed_no_outcome"
    assert not Refund.objects.exists()


def test_the_refund_is_what_inspection_showed_the_customer_with_the_fee_taken_once(order, agent, return_policy):
    # Given a 10% restocking fee for a change of size, and both items (80.00) sent back as too small
    return_policy.restocking_fee_percent = D("10")
    return_policy.auto_approve_reasons, return_policy.auto_approve_max_amount = [], None
    return_policy.save()
    staff = Actor.staff(agent)
    lines = order.lines.order_by("id")
    request = return_request_create(
        order=order, lines=[LineChoice(line.pk, 1) for line in lines], reason="too_small", actor=Actor.customer("A")
    )
    return_request_approve(return_request=request, actor=staff)
    return_request_mark_received(return_request=request, actor=staff)
    request = return_request_inspect(
        return_request=request,
        actor=staff,
        lines=[LineInspection(return_line_id=line.pk, disposition="accept") for line in request.lines.all()],
    )
    assert (request.estimated_refund, request.restocking_fee) == (D("72.00"), D("8.00"))
    # When it is refunded as store credit
    refund = return_request_refund(return_request=request, actor=staff, method="store_credit")
    # Then the customer gets the 72.00 their return showed, not the fee taken a second time
    assert refund.amount == D("72.00")


def test_a_return_of_lines_already_refunded_is_refused_with_the_line_named(order, agent):
    first = inspected_return(order=order, lines=[(0, ACCEPT, 1, D("40.00"))], refund_method="store_credit")
    return_request_refund(return_request=first, actor=Actor.staff(agent))
    second = inspected_return(order=order, lines=[(0, ACCEPT, 1, D("40.00"))])
    with pytest.raises(ValidationError) as refused:
        return_request_refund(return_request=second, actor=Actor.staff(agent))
    assert "lines[0].quantity" in refused.value.message_dict

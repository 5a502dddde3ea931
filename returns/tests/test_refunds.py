"""The refund write path: every invariant under the order's lock, one refund per key, money moved once."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from journeys.models import CareRule, Message
from journeys.services.content import message_content
from journeys.services.rules import care_rules_default_create
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.tests.factories import OrderFactory
from returns.gateways import GatewayResult, gateway_register, gateways_register_defaults
from returns.models import Refund, RefundMethod
from returns.selectors.refunds import refundable_get
from returns.services.refunds import (
    RefundLineInput,
    refund_approve,
    refund_cancel,
    refund_create,
    refund_process,
    refund_reverse,
)
from returns.tests.factories import DisputeFactory, ReturnPolicyFactory

pytestmark = pytest.mark.django_db
D = Decimal


class CountingGateway:
    """A provider that answers as told and counts every call, to see money move once."""

    name = "counting"
    label = "Counting provider"
    needs_reference = False

    def __init__(self, succeed: bool = True):
        self.calls: list[str] = []
        self.succeed = succeed

    def refund(self, refund, idempotency_key):
        self.calls.append(idempotency_key)
        if self.succeed:
            return GatewayResult(f"re_{len(self.calls)}", True)
        return GatewayResult("", False, "card_expired: the card was closed")


@pytest.fixture
def gateway():
    counting = gateway_register(CountingGateway(), methods=[RefundMethod.ORIGINAL_PAYMENT])
    yield counting
    gateways_register_defaults()


@pytest.fixture
def care_rules(shop):
    care_rules_default_create(shop)
    CareRule.objects.filter(shop=shop, trigger="refund_processed").update(is_active=True)


def staff(user):
    return Actor.staff(user)


def create(order, user, *, amount="30.00", key="k-1", **kwargs):
    return refund_create(
        order=order, amount=amount, idempotency_key=key, actor=staff(user), reason="Too small", **kwargs
    )


def test_a_refund_within_the_threshold_is_approved_at_once_and_audited(order, agent, return_policy):
    refund = create(order, agent)
    assert refund.status == "approved"
    assert (refund.amount, refund.currency, refund.gateway) == (D("30.00"), order.currency, "manual")
    assert [event.action for event in refund.events.all()] == ["proposed", "approved"]
    assert refundable_get(order=order).amount_left == D("50.00")


def test_the_same_key_asked_again_is_the_same_refund(order, agent):
    first = create(order, agent, key="double-click")
    second = create(order, agent, key="double-click", amount="50.00")
    assert second.pk == first.pk
    assert Refund.objects.count() == 1


def test_an_amount_above_what_is_left_is_refused_naming_the_field_and_the_amount_left(order, agent):
    create(order, agent, amount="60.00")
    with pytest.raises(ValidationError) as refused:
        create(order, agent, amount="25.00", key="k-2")
    assert refused.value.message_dict["amount"] == [
        f"Only 20.00 {order.currency} of order {order.number} is left to refund (80.00 paid, 60.00 refunded, on "
        "the way or charged back), not 25.00."
    ]
    assert Refund.objects.count() == 1


def test_a_line_cannot_be_refunded_more_times_than_it_was_bought(order, agent):
    first_line = order.lines.order_by("id").first()
    create(order, agent, amount=None, lines=[RefundLineInput(order_line=first_line, quantity=1)])
    with pytest.raises(ValidationError) as refused:
        create(order, agent, amount=None, key="k-2", lines=[RefundLineInput(order_line=first_line, quantity=1)])
    assert "lines[0].quantity" in refused.value.message_dict
    assert "Only 0 of “Item 1” can still be refunded" in refused.value.message_dict["lines[0].quantity"][0]


def test_the_amount_of_a_refund_by_lines_is_their_price(order, agent):
    line = order.lines.order_by("id").first()
    refund = create(order, agent, amount=None, lines=[RefundLineInput(order_line=line, quantity=1)])
    assert refund.amount == D("40.00")
    assert [(item.order_line_id, item.quantity, item.amount) for item in refund.lines.all()] == [
        (line.pk, 1, D("40.00"))
    ]


@pytest.mark.parametrize("outcome", ["lost", "accepted"])
def test_a_chargeback_lost_or_accepted_counts_as_paid_back(order, agent, outcome):
    # Given the customer's bank took 50.00 of the 80.00 back through a chargeback the shop lost (or accepted)
    DisputeFactory(order=order, status=outcome, amount=D("50.00"), kind="chargeback")
    # When staff refund more than the 30.00 the customer has not had back yet, it is refused naming both
    with pytest.raises(ValidationError) as refused:
        create(order, agent, amount="40.00")
    assert refused.value.message_dict["amount"] == [
        f"Only 30.00 {order.currency} of order {order.number} is left to refund (80.00 paid, 50.00 refunded, on "
        "the way or charged back), not 40.00."
    ]
    # And what is left can still be refunded
    assert create(order, agent, amount="30.00").status == "approved"


def test_an_inquiry_that_was_lost_takes_no_money_back(order, agent):
    DisputeFactory(order=order, status="lost", amount=D("80.00"), kind="inquiry")
    assert create(order, agent, amount="80.00").amount == D("80.00")


def test_no_refund_while_a_chargeback_is_open(order, agent):
    DisputeFactory(order=order, status="needs_response")
    with pytest.raises(ValidationError) as refused:
        create(order, agent)
    assert "open payment dispute" in refused.value.messages[0]
    assert not Refund.objects.exists()


def test_a_method_the_policy_does_not_offer_is_refused(order, agent):
    ReturnPolicyFactory(shop=order.shop, refund_methods=[RefundMethod.ORIGINAL_PAYMENT])
    with pytest.raises(ValidationError) as refused:
        create(order, agent, method=RefundMethod.STORE_CREDIT)
    assert "method" in refused.value.message_dict


def test_an_unpaid_order_has_nothing_to_refund(shop, agent):
    from merchant.tests.factories import OrderFactory

    with pytest.raises(ValidationError, match="not paid"):
        create(OrderFactory(shop=shop), agent)


class TestApproval:
    @pytest.fixture
    def threshold(self, shop):
        return ReturnPolicyFactory(shop=shop, refund_approval_threshold=D("25.00"))

    def test_above_the_threshold_a_refund_waits_for_an_owner_and_is_put_in_the_queue(self, order, agent, threshold):
        refund = create(order, agent)
        assert refund.status == "pending_approval"
        from returns.models import CaseItem

        assert CaseItem.objects.get(refund=refund).summary.startswith("Refund of 30.00")

    def test_an_agent_is_refused_with_a_clear_message(self, order, agent, threshold):
        refund = create(order, agent)
        with pytest.raises(PermissionDenied, match="Only an owner of Alpha Shoes can approve a refund above 25.00"):
            refund_approve(refund=refund, actor=staff(agent))
        refund.refresh_from_db()
        assert refund.status == "pending_approval"

    def test_an_owner_approves_and_approving_again_changes_nothing(self, order, agent, owner, threshold):
        refund = create(order, agent)
        refund_approve(refund=refund, actor=staff(owner))
        refund_approve(refund=refund, actor=staff(owner))
        refund.refresh_from_db()
        assert (refund.status, refund.approved_by) == ("approved", owner)
        assert refund.events.filter(action="approved").count() == 1

    def test_a_pending_refund_still_holds_its_amount(self, order, agent, threshold):
        create(order, agent, amount="70.00")
        with pytest.raises(ValidationError, match="Only 10.00"):
            create(order, agent, amount="20.00", key="k-2")


class TestProcessing:
    def test_a_manual_refund_needs_the_reference_and_changes_nothing_without_it(self, order, agent):
        refund = create(order, agent)
        with pytest.raises(ValidationError) as refused:
            refund_process(refund=refund, actor=staff(agent))
        assert "reference" in refused.value.message_dict
        refund.refresh_from_db()
        assert refund.status == "approved"

    def test_a_processed_refund_moves_the_order_and_tells_the_customer_how_and_when(self, order, agent, care_rules):
        refund = refund_process(refund=create(order, agent), actor=staff(agent), reference="SEPA-2026-0042")
        assert (refund.status, refund.reference) == ("succeeded", "SEPA-2026-0042")
        assert refund.expected_by is not None
        order.refresh_from_db()
        assert (order.status, order.refunded_total) == ("partially_refunded", D("30.00"))
        message = Message.objects.get(order=order, trigger="refund_processed")
        body = message_content(message).body
        assert f"30.00 {order.currency}" in body
        assert "to your original payment method" in body
        assert "within 5–10 business days" in body

    def test_processing_twice_pays_once(self, order, agent, gateway, care_rules):
        refund = create(order, agent)
        refund_process(refund=refund, actor=staff(agent))
        again = refund_process(refund=refund, actor=staff(agent))
        assert again.status == "succeeded"
        assert gateway.calls == [f"refund-{order.shop_id}-{refund.pk}"]
        order.refresh_from_db()
        assert order.refunded_total == D("30.00")
        assert Message.objects.filter(order=order, trigger="refund_processed").count() == 1

    def test_a_failed_refund_is_never_retried_on_its_row_and_frees_its_amount(self, order, agent, gateway):
        gateway.succeed = False
        refund = refund_process(refund=create(order, agent, amount="80.00"), actor=staff(agent))
        assert (refund.status, refund.failure_reason) == ("failed", "card_expired: the card was closed")
        assert refund_process(refund=refund, actor=staff(agent)).status == "failed"
        assert len(gateway.calls) == 1
        order.refresh_from_db()
        assert order.refunded_total == 0
        gateway.succeed = True
        retry = create(order, agent, amount="80.00", key="k-2")
        assert refund_process(refund=retry, actor=staff(agent)).status == "succeeded"
        order.refresh_from_db()
        assert (order.status, order.refunded_total) == ("refunded", D("80.00"))

    def test_a_chargeback_opened_after_approval_stops_the_payment(self, order, agent, gateway):
        refund = create(order, agent)
        DisputeFactory(order=order, status="needs_response")
        with pytest.raises(ValidationError, match="open payment dispute"):
            refund_process(refund=refund, actor=staff(agent))
        assert gateway.calls == []

    def test_a_store_credit_refund_is_there_now(self, order, agent, care_rules):
        refund = create(order, agent, method=RefundMethod.STORE_CREDIT)
        refund = refund_process(refund=refund, actor=staff(agent))
        assert refund.status == "succeeded"
        body = message_content(Message.objects.get(order=order, trigger="refund_processed")).body
        assert "as store credit" in body
        assert "Available now." in body


class TestCancelAndReverse:
    def test_a_cancelled_refund_frees_its_amount_and_cannot_be_processed(self, order, agent):
        refund = create(order, agent, amount="80.00")
        refund_cancel(refund=refund, actor=staff(agent), reason="Customer kept it")
        assert refundable_get(order=order).amount_left == D("80.00")
        with pytest.raises(InvalidTransition):
            refund_process(refund=refund, actor=staff(agent), reference="x")

    def test_a_succeeded_refund_cannot_be_cancelled(self, order, agent):
        refund = refund_process(refund=create(order, agent), actor=staff(agent), reference="r")
        with pytest.raises(InvalidTransition):
            refund_cancel(refund=refund, actor=staff(agent))

    def test_a_reversed_refund_is_noted_on_the_order_and_queued(self, order, agent):
        refund = refund_process(refund=create(order, agent), actor=staff(agent), reference="r")
        with pytest.raises(ValidationError):
            refund_reverse(refund=refund, actor=staff(agent), reason="")
        refund_reverse(refund=refund, actor=staff(agent), reason="The card was closed")
        refund.refresh_from_db()
        assert refund.status == "reversed"
        [note] = order.events.filter(type="note")
        assert note.details["text"].startswith("Refund of 30.00 USD came back: The card was closed")
        from returns.models import CaseItem

        assert CaseItem.objects.filter(refund=refund, summary__contains="came back").exists()


@pytest.mark.parametrize("status", ["pending_payment", "cancelled"])
def test_an_order_never_paid_has_nothing_to_refund(shop, agent, status):
    order = OrderFactory(shop=shop, status=status, paid_at=None)
    with pytest.raises(ValidationError) as refused:
        create(order, agent, amount="10.00")
    assert refused.value.messages == [f"Order {order.number} is not paid: there is nothing to refund."]
    assert not Refund.objects.exists()

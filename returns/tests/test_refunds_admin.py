"""The refunds admin as staff use it: the Refund page with what is left, one refund per form, owners approve."""

from decimal import Decimal

import pytest
from django.urls import reverse

from returns.models import Refund
from returns.tests.factories import RefundFactory, ReturnPolicyFactory, delivered_order, inspected_return

pytestmark = pytest.mark.django_db
D = Decimal


def new_url(**params):
    return reverse("admin:returns_refund_new") + "?" + "&".join(f"{key}={value}" for key, value in params.items())


def change_url(refund):
    return reverse("admin:returns_refund_change", args=[refund.pk])


@pytest.fixture
def as_agent(client, agent):
    client.force_login(agent)
    return client


def test_the_refund_page_shows_what_is_left_and_each_line(as_agent, order):
    RefundFactory(order=order, amount=D("30.00"), status="succeeded")
    order.refunded_total = D("30.00")
    order.save()
    page = as_agent.get(new_url(order=order.pk)).content.decode()
    assert "left to refund 50.00 USD" in page
    assert "1 of 1 can still be refunded, 40.00 left" in page


def test_a_double_submitted_form_makes_one_refund(as_agent, order):
    form = {"order": order.pk, "amount": "25.00", "method": "original_payment", "idempotency_key": "f0rm"}
    first = as_agent.post(reverse("admin:returns_refund_new"), form)
    second = as_agent.post(reverse("admin:returns_refund_new"), form)
    refund = Refund.objects.get()
    assert first["Location"] == second["Location"] == change_url(refund)
    assert refund.idempotency_key == "admin:f0rm"
    page = as_agent.get(change_url(refund)).content.decode()
    assert "This refund was already made" in page


def test_more_than_is_left_shows_the_error_on_the_amount_field(as_agent, order):
    form = {"order": order.pk, "amount": "90.00", "method": "original_payment", "idempotency_key": "k"}
    response = as_agent.post(reverse("admin:returns_refund_new"), form)
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == [
        f"Only 80.00 USD of order {order.number} is left to refund (80.00 paid, 0.00 refunded, on the way or charged back), "
        "not 90.00."
    ]
    assert not Refund.objects.exists()


def test_refunding_items_by_quantity(as_agent, order):
    line = order.lines.order_by("id").first()
    form = {"order": order.pk, "method": "store_credit", "idempotency_key": "k", f"line_{line.pk}": "1"}
    as_agent.post(reverse("admin:returns_refund_new"), form)
    refund = Refund.objects.get()
    assert (refund.amount, refund.lines.get().order_line) == (D("40.00"), line)


def test_an_agent_cannot_approve_and_is_told_why_an_owner_can(client, as_agent, agent, owner, order):
    ReturnPolicyFactory(shop=order.shop, refund_approval_threshold=D("10.00"))
    form = {"order": order.pk, "amount": "25.00", "method": "original_payment", "idempotency_key": "k"}
    as_agent.post(reverse("admin:returns_refund_new"), form)
    refund = Refund.objects.get()
    page = as_agent.get(change_url(refund)).content.decode()
    assert "an owner of the shop approves it" in page
    response = as_agent.post(reverse("admin:returns_refund_approve", args=[refund.pk]), follow=True)
    assert "Only an owner of Alpha Shoes can approve" in response.content.decode()
    refund.refresh_from_db()
    assert refund.status == "pending_approval"
    client.force_login(owner)
    client.post(reverse("admin:returns_refund_approve", args=[refund.pk]))
    refund.refresh_from_db()
    assert (refund.status, refund.approved_by) == ("approved", owner)


def test_processing_asks_for_the_reference_then_records_it(as_agent, order):
    as_agent.post(
        reverse("admin:returns_refund_new"),
        {"order": order.pk, "amount": "25.00", "method": "original_payment", "idempotency_key": "k"},
    )
    refund = Refund.objects.get()
    url = reverse("admin:returns_refund_process", args=[refund.pk])
    refused = as_agent.post(url, {"reference": ""})
    assert refused.status_code == 400
    assert "reference" in refused.context["form"].errors
    as_agent.post(url, {"reference": "SEPA-77"})
    refund.refresh_from_db()
    assert (refund.status, refund.reference) == ("succeeded", "SEPA-77")


def test_an_inspected_return_is_refunded_from_its_page(as_agent, order):
    request = inspected_return(order=order, lines=[(0, "accept", 1, D("40.00"))])
    page = as_agent.get(new_url(return_request=request.pk)).content.decode()
    assert "Refund the accepted items" in page
    as_agent.post(reverse("admin:returns_refund_new"), {"return_request": request.pk, "method": "store_credit"})
    request.refresh_from_db()
    assert request.status == "resolved"
    assert Refund.objects.get().status == "succeeded"


def test_another_shops_refunds_and_orders_are_not_found(as_agent, other_shop):
    theirs = delivered_order(shop=other_shop)
    refund = RefundFactory(order=theirs)
    assert as_agent.get(change_url(refund)).status_code == 404
    assert as_agent.get(new_url(order=theirs.pk)).status_code == 404
    assert as_agent.post(reverse("admin:returns_refund_approve", args=[refund.pk])).status_code == 404


def test_the_list_shows_only_the_persons_shops_in_a_fixed_number_of_queries(as_agent, order, other_shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    RefundFactory(order=delivered_order(shop=other_shop), amount=D("9.99"))
    RefundFactory(order=order, amount=D("1.00"), idempotency_key="k-0")
    as_agent.get(reverse("admin:returns_refund_changelist"))  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        as_agent.get(reverse("admin:returns_refund_changelist"))
    for index in range(1, 4):
        RefundFactory(order=delivered_order(shop=order.shop), amount=D("1.00"), idempotency_key=f"k-{index}")
    with CaptureQueriesContext(connection) as four:
        page = as_agent.get(reverse("admin:returns_refund_changelist")).content.decode()
    assert len(four) == len(one)
    assert page.count("1.00 USD") == 4
    assert "9.99" not in page


class TestARefundLeftProcessing:
    """The process stopped after the gateway was called: staff record what the bank shows, once."""

    def test_staff_record_that_the_money_went_out_with_its_reference(self, as_agent, order):
        refund = RefundFactory(order=order, amount=D("30.00"), status="processing")
        page = as_agent.get(change_url(refund)).content.decode()
        assert "Record the outcome" in page
        url = reverse("admin:returns_refund_outcome", args=[refund.pk])
        refused = as_agent.post(url, {"outcome": "succeeded", "reference": ""}, follow=True)
        assert "Give the reference" in refused.content.decode()
        refund.refresh_from_db()
        assert refund.status == "processing"
        as_agent.post(url, {"outcome": "succeeded", "reference": "SEPA-991"})
        refund.refresh_from_db()
        order.refresh_from_db()
        assert (refund.status, refund.reference) == ("succeeded", "SEPA-991")
        assert order.refunded_total == D("30.00")
        # A second click records nothing more
        as_agent.post(url, {"outcome": "succeeded", "reference": "SEPA-991"})
        order.refresh_from_db()
        assert order.refunded_total == D("30.00")

    def test_staff_record_a_failure_with_its_reason(self, as_agent, order):
        refund = RefundFactory(order=order, amount=D("30.00"), status="processing")
        as_agent.post(
            reverse("admin:returns_refund_outcome", args=[refund.pk]), {"outcome": "failed", "reason": "Account closed"}
        )
        refund.refresh_from_db()
        assert (refund.status, refund.failure_reason) == ("failed", "Account closed")


def test_a_cancel_reason_too_long_is_refused_and_changes_nothing(as_agent, order):
    refund = RefundFactory(order=order, amount=D("30.00"), status="approved")
    response = as_agent.post(
        reverse("admin:returns_refund_cancel", args=[refund.pk]), {"reason": "x" * 501}, follow=True
    )
    assert "at most 500 characters" in response.content.decode()
    refund.refresh_from_db()
    assert refund.status == "approved"

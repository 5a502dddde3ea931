"""Return requests through their services: what a customer may ask for, how the policy judges it, each step
after, the audit row with its actor, the support queue, and the messages planned for the customer."""

import datetime as dt
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from journeys.holds import holds_find
from journeys.models import Message
from journeys.tests.factories import MessageFactory
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import OrderEvent
from merchant.tests.factories import ProductFactory
from merchant.uploads import photo_prepare
from returns.models import CaseItem, ReturnLine, ReturnPolicy, ReturnReason, ReturnRequest
from returns.services.requests import (
    LineChoice,
    LineInspection,
    return_request_approve,
    return_request_cancel,
    return_request_close_without_outcome,
    return_request_create,
    return_request_decline,
    return_request_expire,
    return_request_inspect,
    return_request_mark_in_transit,
    return_request_mark_received,
    return_request_resolve,
    return_requests_expire_due,
)
from returns.tasks.requests import return_requests_expire_due_task
from returns.tests.factories import delivered_order

pytestmark = pytest.mark.django_db
CUSTOMER = Actor.customer("Ada Customer")
STAFF = Actor.system("staff (test)")
S = ReturnRequest.Status


def photo():
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "JPEG")
    return photo_prepare(SimpleUploadedFile("broken.jpg", buffer.getvalue(), content_type="image/jpeg"))


def ask(order, *, quantities=None, reason=ReturnReason.TOO_SMALL, **kwargs) -> ReturnRequest:
    lines = list(order.lines.order_by("id"))
    quantities = quantities or [1]
    choices = [LineChoice(order_line_id=line.pk, quantity=n) for line, n in zip(lines, quantities, strict=False)]
    return return_request_create(order=order, lines=choices, reason=reason, actor=CUSTOMER, **kwargs)


def planned(request: ReturnRequest) -> list[str]:
    return sorted(
        Message.objects.filter(order=request.order, step=f"return-{request.pk}").values_list("trigger", flat=True)
    )


def moves(request: ReturnRequest) -> list[tuple[str, str, str]]:
    return [(e.action, e.to_status, e.actor_kind) for e in request.events.order_by("at", "id")]


class TestAsking:
    def test_a_request_is_numbered_per_order_audited_and_confirmed_to_the_customer(self, order, return_policy):
        first = ask(order)
        second = ask(order, quantities=[0, 1])
        assert (first.number, second.number) == (f"{order.number}-R1", f"{order.number}-R2")
        assert first.status == S.REQUESTED
        assert moves(first) == [("requested", S.REQUESTED, OrderEvent.ActorKind.CUSTOMER)]
        assert planned(first) == ["return_requested"]
        assert first.estimated_refund == Decimal("40.00")
        assert first.window_ends_at is not None
        assert not first.eu_floor_applied

    def test_a_request_waiting_for_staff_goes_to_the_support_queue_of_its_order(self, order, return_policy):
        request = ask(order)
        item = CaseItem.objects.get(return_request=request)
        assert (item.kind, item.source, item.case.order) == (
            "return_request",
            f"returns.returnrequest:{request.pk}",
            order,
        )
        assert item.admin_path.endswith(f"/returnrequest/{request.pk}/change/")

    def test_more_than_is_still_returnable_is_refused_naming_the_lines_and_nothing_is_stored(
        self, order, return_policy
    ):
        ask(order, quantities=[1])
        with pytest.raises(ValidationError) as refused:
            ask(order, quantities=[1])
        assert "lines" in refused.value.message_dict
        assert "Item 1" in refused.value.message_dict["lines"][0]
        assert ReturnRequest.objects.count() == 1

    def test_a_cancelled_request_makes_its_items_returnable_again(self, order, return_policy):
        first = ask(order)
        return_request_cancel(return_request=first, actor=CUSTOMER)
        assert ask(order).status == S.REQUESTED

    def test_an_item_of_a_non_returnable_category_is_refused(self, shop, order, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(non_returnable_categories=["Gift Cards"])
        line = order.lines.order_by("id").first()
        line.product = ProductFactory(shop=shop, category="gift cards")
        line.save()
        with pytest.raises(ValidationError) as refused:
            ask(order)
        assert "cannot be returned" in refused.value.message_dict["lines"][0]

    def test_nothing_chosen_no_reason_and_an_unknown_refund_method_are_each_named(self, order, return_policy):
        with pytest.raises(ValidationError) as refused:
            return_request_create(order=order, lines=[], reason="bored", refund_method="bitcoin", actor=CUSTOMER)
        assert set(refused.value.message_dict) == {"lines", "reason", "refund_method"}

    def test_after_the_window_the_request_is_refused_with_the_day_it_ended(self, shop, return_policy):
        old = delivered_order(shop=shop, days_ago=45)
        with pytest.raises(ValidationError) as refused:
            ask(old)
        assert refused.value.messages[0].startswith("The return window ended on ")

    def test_the_restocking_fee_is_kept_only_for_a_change_of_mind_or_size(self, order, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(restocking_fee_percent=Decimal("10"))
        size = ask(order, reason=ReturnReason.TOO_LARGE)
        damaged = ask(order, quantities=[0, 1], reason=ReturnReason.DAMAGED, photos=[photo()])
        assert (size.estimated_refund, size.restocking_fee) == (Decimal("36.00"), Decimal("4.00"))
        assert (damaged.estimated_refund, damaged.restocking_fee) == (Decimal("40.00"), Decimal("0"))


class TestPolicyDecides:
    def test_a_request_under_the_amount_is_approved_by_the_rule_and_the_customer_gets_the_approval(
        self, order, return_policy
    ):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(auto_approve_max_amount=Decimal("50"))
        with time_machine.travel(timezone.now(), tick=False):
            request = ask(order)
            assert request.instructions_expire_at == timezone.now() + dt.timedelta(days=28)
        assert (request.status, request.auto_approved) == (S.APPROVED, True)
        event = request.events.get(to_status=S.APPROVED)
        assert event.actor_kind == OrderEvent.ActorKind.RULE
        assert "approve up to 50.00" in event.actor_label
        assert planned(request) == ["return_approved"]
        assert not CaseItem.objects.exists(), "nobody needs to look at it"

    def test_a_listed_reason_is_approved_whatever_the_amount(self, order, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(auto_approve_reasons=["wrong_item"])
        request = ask(order, quantities=[1, 1], reason=ReturnReason.WRONG_ITEM, photos=[photo()])
        assert request.status == S.APPROVED
        assert "Wrong item sent" in request.events.get(to_status=S.APPROVED).actor_label

    def test_a_damaged_item_without_a_photo_needs_review_and_is_put_in_the_queue_with_high_priority(
        self, order, return_policy
    ):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(auto_approve_reasons=["damaged"])
        request = ask(order, reason=ReturnReason.DAMAGED)
        assert (request.status, request.review_reasons) == (S.NEEDS_REVIEW, ["photos_missing"])
        item = CaseItem.objects.get(return_request=request)
        assert "no photo" in item.summary
        assert item.case.priority == 30
        assert planned(request) == ["return_requested"]

    def test_a_high_value_request_needs_review(self, order, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(
            review_above_amount=Decimal("60"), auto_approve_max_amount=Decimal("50")
        )
        assert ask(order, quantities=[1, 1]).review_reasons == ["high_value"]

    def test_a_photo_is_kept_once_however_often_it_was_chosen(self, order, return_policy):
        same = photo()
        request = ask(order, reason=ReturnReason.DAMAGED, photos=[same, same])
        assert request.photos.count() == 1
        assert request.status == S.REQUESTED


class TestSteps:
    @pytest.fixture
    def request_(self, order, return_policy):
        return ask(order, quantities=[1, 1])

    def test_approval_sets_the_deadline_from_the_policy_and_tells_the_customer(self, request_, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(instructions_valid_days=10)
        now = timezone.now()
        approved = return_request_approve(return_request=request_, actor=STAFF, now=now)
        assert (approved.status, approved.auto_approved) == (S.APPROVED, False)
        assert approved.instructions_expire_at == now + dt.timedelta(days=10)
        assert "return_approved" in planned(request_)

    def test_a_decline_needs_a_code_and_a_message_of_at_most_500_characters(self, request_):
        with pytest.raises(ValidationError) as refused:
            return_request_decline(return_request=request_, actor=STAFF, code="", message="x" * 501)
        assert set(refused.value.message_dict) == {"code", "message"}
        request_.refresh_from_db()
        assert request_.status == S.REQUESTED
        declined = return_request_decline(
            return_request=request_, actor=STAFF, code="condition", message="The shoes were worn outside."
        )
        assert (declined.status, declined.decline_code, declined.decline_message) == (
            S.DECLINED,
            "condition",
            "The shoes were worn outside.",
        )
        assert "return_declined" in planned(request_)

    def test_the_whole_journey_back_is_audited_step_by_step_with_its_actors(self, request_):
        return_request_approve(return_request=request_, actor=STAFF)
        return_request_mark_in_transit(return_request=request_, actor=CUSTOMER, carrier="DHL", tracking_number="JJD1")
        received = return_request_mark_received(return_request=request_, actor=STAFF)
        assert (received.return_carrier, received.return_tracking_number) == ("DHL", "JJD1")
        assert received.received_at is not None
        assert [m[1] for m in moves(request_)] == [S.REQUESTED, S.APPROVED, S.IN_TRANSIT, S.RECEIVED]
        assert [m[2] for m in moves(request_)][2] == OrderEvent.ActorKind.CUSTOMER
        assert planned(request_) == ["return_approved", "return_received", "return_requested"]

    def test_inspection_records_each_line_and_the_refund_follows_the_accepted_items(self, order, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(restocking_fee_percent=Decimal("10"))
        line = order.lines.order_by("id").first()
        line.quantity, line.total = 3, Decimal("120.00")
        line.save()
        request = ask(order, quantities=[3, 1], reason=ReturnReason.CHANGED_MIND)
        return_request_approve(return_request=request, actor=STAFF)
        return_request_mark_received(return_request=request, actor=STAFF)
        first, second = request.lines.order_by("id")
        inspected = return_request_inspect(
            return_request=request,
            actor=STAFF,
            lines=[
                LineInspection(first.pk, "partial", accepted_quantity=2, restock=True, note="one was worn"),
                LineInspection(second.pk, "reject", restock=True),
            ],
        )
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.disposition, first.accepted_quantity, first.credit_amount, first.restock) == (
            "partial",
            2,
            Decimal("72.00"),
            True,
        )
        assert (second.disposition, second.accepted_quantity, second.credit_amount, second.restock) == (
            "reject",
            0,
            Decimal("0"),
            False,
        )
        assert (inspected.status, inspected.estimated_refund, inspected.restocking_fee) == (
            S.INSPECTED,
            Decimal("72.00"),
            Decimal("8.00"),
        )

    def test_an_inspection_that_leaves_a_line_out_or_accepts_too_many_changes_nothing(self, request_):
        return_request_approve(return_request=request_, actor=STAFF)
        return_request_mark_received(return_request=request_, actor=STAFF)
        first, second = request_.lines.order_by("id")
        with pytest.raises(ValidationError) as refused:
            return_request_inspect(
                return_request=request_, actor=STAFF, lines=[LineInspection(first.pk, "partial", accepted_quantity=1)]
            )
        assert len(refused.value.message_dict["lines"]) == 2
        request_.refresh_from_db()
        assert request_.status == S.RECEIVED
        assert set(request_.lines.values_list("disposition", flat=True)) == {ReturnLine.Disposition.PENDING}

    def test_inspecting_before_the_items_arrived_is_refused(self, request_):
        with pytest.raises(InvalidTransition):
            return_request_inspect(
                return_request=request_,
                actor=STAFF,
                lines=[LineInspection(line.pk, "accept") for line in request_.lines.all()],
            )

    def test_resolve_and_close_without_outcome_end_an_inspected_return(self, order, return_policy):
        for end, quantities in ((return_request_resolve, [1]), (return_request_close_without_outcome, [0, 1])):
            request = ask(order, quantities=quantities)
            return_request_approve(return_request=request, actor=STAFF)
            return_request_mark_received(return_request=request, actor=STAFF)
            return_request_inspect(
                return_request=request,
                actor=STAFF,
                lines=[LineInspection(line.pk, "accept") for line in request.lines.all()],
            )
            ended = end(return_request=request, actor=STAFF, note="done")
            assert ended.closed_at is not None
        assert ended.status == S.CLOSED_NO_OUTCOME
        assert ReturnRequest.objects.filter(status=S.RESOLVED).count() == 1

    def test_a_customer_cannot_cancel_once_the_items_are_on_their_way_but_staff_can_before(self, request_):
        return_request_approve(return_request=request_, actor=STAFF)
        return_request_mark_in_transit(return_request=request_, actor=STAFF)
        with pytest.raises(ValidationError):
            return_request_cancel(return_request=request_, actor=CUSTOMER)
        with pytest.raises(InvalidTransition):
            return_request_cancel(return_request=request_, actor=STAFF)

    def test_staff_cancelling_tells_the_customer_a_customer_cancelling_is_not_told(self, order, return_policy):
        by_customer = ask(order, quantities=[1])
        return_request_cancel(return_request=by_customer, actor=CUSTOMER)
        by_staff = ask(order, quantities=[1])
        return_request_cancel(return_request=by_staff, actor=STAFF, note="duplicate")
        assert planned(by_customer) == ["return_requested"]
        assert planned(by_staff) == ["return_cancelled", "return_requested"]


class TestExpiry:
    def test_the_schedule_expires_approved_returns_whose_instructions_ran_out_and_tells_the_customer(
        self, order, return_policy
    ):
        now = timezone.now()
        due = ask(order, quantities=[1])
        return_request_approve(return_request=due, actor=STAFF, now=now - dt.timedelta(days=29))
        fresh = ask(order, quantities=[0, 1])
        return_request_approve(return_request=fresh, actor=STAFF, now=now)
        assert return_requests_expire_due_task() == 1
        due.refresh_from_db()
        fresh.refresh_from_db()
        assert (due.status, fresh.status) == (S.EXPIRED, S.APPROVED)
        assert due.events.get(to_status=S.EXPIRED).actor_kind == OrderEvent.ActorKind.SYSTEM
        assert "return_expired" in planned(due)
        assert return_requests_expire_due() == 0, "nothing twice"

    def test_an_approval_still_running_is_not_expired(self, order, return_policy):
        request = ask(order, quantities=[1])
        return_request_approve(return_request=request, actor=STAFF)
        with pytest.raises(ValidationError):
            return_request_expire(return_request=request)


class TestHold:
    def test_a_review_request_waits_while_its_order_has_a_return_in_progress(self, shop, order, return_policy):
        message = MessageFactory(shop=shop, order=order, customer=order.customer, trigger="review_request")
        assert holds_find([message]) == {}
        request = ask(order)
        held = holds_find([message])
        assert request.number in held[message.pk].why
        return_request_cancel(return_request=request, actor=CUSTOMER)
        assert holds_find([message]) == {}

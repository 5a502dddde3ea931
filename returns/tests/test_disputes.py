"""Disputes from Shopify's webhooks and from staff, worked to submission, their deadlines, the customer's guidance."""

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from journeys import context as journeys_context
from journeys.context import LinkSpec
from journeys.holds import holds_find
from journeys.models import Message, TrackedLink
from journeys.services.dispatch import Dispatcher
from journeys.tests.factories import MessageFactory
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import InboundEvent, Membership
from merchant.services.inbound import inbound_events_drain
from merchant.tests.factories import MembershipFactory, OrderFactory, UserFactory
from returns.models import Case, CaseItem, Dispute
from returns.platforms.shopify_disputes import dispute_status, reason_category
from returns.services import disputes as services
from returns.tests.factories import DisputeFactory

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external" / "shopify" / "rest_dispute.json"
SECRET = "shpss_test_secret_of_alpha_0123456789"
S = Dispute.Status


def shopify_dispute(**changes) -> dict:
    # The file is a REST response ({"dispute": {...}}); a webhook body is the inner object.
    return json.loads(FIXTURE.read_text())["dispute"] | changes


def shopify_post(client, body: dict, *, topic: str = "disputes/create", webhook_id: str = "w-1"):
    raw = json.dumps(body).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    response = client.post(
        reverse("webhook-shopify", args=["alpha"]),
        data=raw,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature,
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_SHOP_DOMAIN="alpha.myshopify.com",
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
    )
    assert response.status_code == 200, response.content
    inbound_events_drain(max_seconds=0)
    return InboundEvent.objects.get(pk=response.json()["event"])


@pytest.fixture
def signed_shop(shop):
    shop.webhook_secret = SECRET
    shop.contact_email = "help@alpha.example"
    shop.save()
    return shop


@pytest.fixture
def staff(owner):
    owner.email = "owner@alpha.example"
    owner.save()
    return Actor.staff(owner)


def due_in(**delta) -> dt.datetime:
    return timezone.now() + dt.timedelta(**delta)


def open_dispute(order, actor, **changes) -> Dispute:
    values = {"due_at": due_in(days=7), "amount": "80.00", "reason_category": "not_received", "order": order}
    return services.dispute_create(shop=order.shop, actor=actor, **(values | changes))


def drain() -> dict:
    with Dispatcher() as dispatcher:
        return dict(dispatcher.drain().tally)


# --- Shopify webhooks ------------------------------------------------------------------------------------


class TestShopifyWebhooks:
    def test_the_shared_fixture_without_order_is_stored_with_a_case_and_its_raw_status(self, client, signed_shop):
        event = shopify_post(client, shopify_dispute())

        assert event.status == "processed"
        dispute = Dispute.objects.get()
        assert (dispute.provider, dispute.external_id, dispute.order, dispute.customer) == (
            "shopify", "1052608616", None, None,
        )  # fmt: skip
        assert (dispute.status, dispute.provider_status, dispute.kind) == (S.WON, "won", "chargeback")
        assert (dispute.reason_category, dispute.provider_reason, dispute.network_reason_code) == (
            "fraudulent", "fraudulent", "4827",
        )  # fmt: skip
        assert (dispute.amount, dispute.currency) == (Decimal("100.00"), "USD")
        assert dispute.due_at == dt.datetime(2013, 7, 3, 23, 0, tzinfo=dt.UTC)
        assert dispute.submitted_at == dt.datetime(2013, 7, 4, 11, 0, tzinfo=dt.UTC)
        assert dispute.opened_at == dt.datetime(2013, 5, 4, 0, 0, tzinfo=dt.UTC)
        item = CaseItem.objects.get(dispute=dispute)
        assert (item.kind, item.source, item.case.order) == ("dispute", f"returns.dispute:{dispute.pk}", None)
        assert item.case.priority == Case.Priority.HIGH
        # Already decided when it arrived: nothing to tell the customer (there is none either).
        assert not Message.objects.exists()
        assert event.result["reason"] == "fraudulent"
        assert event.result["dispute"] == dispute.pk

    def test_a_new_dispute_on_a_known_order_is_noted_queued_and_the_customer_gets_guidance(
        self, client, signed_shop, order
    ):
        order.external_id = "450789469"
        order.save()
        body = shopify_dispute(order_id=450789469, status="needs_response", evidence_sent_on=None,
                               evidence_due_by=due_in(hours=50).isoformat())  # fmt: skip

        shopify_post(client, body)

        dispute = Dispute.objects.get()
        assert (dispute.status, dispute.order, dispute.customer) == (S.NEEDS_RESPONSE, order, order.customer)
        note = order.events.get(type="note")
        assert note.details["text"] == "Payment dispute: chargeback, fraudulent, needs_response"
        case = Case.objects.get(order=order)
        assert case.priority == Case.Priority.HIGH  # due in 50 hours: urgent from 24
        # The case is due by its first answer or the dispute's deadline, whichever comes first.
        assert case.due_at <= dispute.due_at
        assert case.items.get(kind="dispute").dispute == dispute
        message = Message.objects.get(trigger="dispute_opened")
        assert (message.customer, message.order, message.message_class, message.channel) == (
            order.customer, order, "transactional", "email",
        )  # fmt: skip

    def test_a_chargeback_tied_to_no_order_gets_a_case_named_after_it(self, client, signed_shop):
        # The fixture as Shopify sends it: order_id null
        shopify_post(client, shopify_dispute(status="needs_response", evidence_sent_on=None))
        dispute = Dispute.objects.get()
        assert dispute.order is None
        case = Case.objects.get(items__dispute=dispute)
        assert case.subject.startswith("Chargeback")
        assert "100.00" in case.subject

    def test_updates_move_forward_and_a_late_old_delivery_changes_nothing_but_is_recorded(self, client, signed_shop):
        opened = shopify_dispute(status="needs_response", evidence_sent_on=None, evidence_due_by=None)
        shopify_post(client, opened, webhook_id="w-1")
        shopify_post(client, opened | {"status": "under_review"}, topic="disputes/update", webhook_id="w-2")
        dispute = Dispute.objects.get()
        assert (dispute.status, dispute.provider_status) == (S.SUBMITTED, "under_review")

        # The first "needs_response" update, delivered late.
        late = shopify_post(client, opened, topic="disputes/update", webhook_id="w-3")

        dispute.refresh_from_db()
        assert (dispute.status, dispute.provider_status) == (S.SUBMITTED, "under_review")
        assert late.status == "processed"
        assert late.result["stale"] is True
        last = dispute.events.last()
        assert (last.action, last.details["provider_status"], last.details["applied"]) == (
            "provider_update", "needs_response", False,
        )  # fmt: skip

        shopify_post(client, opened | {"status": "won", "finalized_on": "2026-01-02T10:00:00Z"},
                     topic="disputes/update", webhook_id="w-4")  # fmt: skip
        dispute.refresh_from_db()
        assert (dispute.status, dispute.closed_at) == (S.WON, dt.datetime(2026, 1, 2, 10, tzinfo=dt.UTC))
        assert [e.to_status for e in dispute.events.exclude(to_status="")] == [S.NEEDS_RESPONSE, S.SUBMITTED, S.WON]

    def test_an_inquiry_answered_by_the_provider_skips_no_audit_step(self, client, signed_shop):
        inquiry = shopify_dispute(type="inquiry", status="needs_response", evidence_sent_on=None)
        shopify_post(client, inquiry)
        dispute = Dispute.objects.get()
        assert (dispute.kind, dispute.status) == ("inquiry", S.INQUIRY_OPEN)

        shopify_post(client, inquiry | {"status": "under_review"}, topic="disputes/update", webhook_id="w-2")

        dispute.refresh_from_db()
        assert dispute.status == S.SUBMITTED
        moves = [(e.from_status, e.to_status) for e in dispute.events.exclude(from_status="")]
        assert moves == [(S.INQUIRY_OPEN, S.NEEDS_RESPONSE), (S.NEEDS_RESPONSE, S.SUBMITTED)]

    def test_a_loss_delivered_again_after_an_appeal_opened_does_not_close_the_appeal(self, client, signed_shop, staff):
        lost = shopify_dispute(status="lost", finalized_on="2026-01-02T10:00:00Z")
        shopify_post(client, lost)
        dispute = services.dispute_appeal(dispute=Dispute.objects.get(), actor=staff, due_at=due_in(days=10))

        shopify_post(client, lost, topic="disputes/update", webhook_id="w-2")

        dispute.refresh_from_db()
        assert dispute.status == S.APPEAL_OPEN


@pytest.mark.parametrize(
    ("shopify_status", "kind", "ours"),
    [
        ("needs_response", "chargeback", S.NEEDS_RESPONSE),
        ("under_review", "chargeback", S.SUBMITTED),
        ("charge_refunded", "chargeback", S.SETTLED),
        ("accepted", "chargeback", S.ACCEPTED),
        ("won", "chargeback", S.WON),
        ("lost", "chargeback", S.LOST),
        ("needs_response", "inquiry", S.INQUIRY_OPEN),
        ("won", "inquiry", S.INQUIRY_CLOSED),
        ("something_new", "chargeback", None),
    ],
)
def test_shopify_statuses_map_onto_ours(shopify_status, kind, ours):
    assert dispute_status(shopify_status, kind=kind) == ours


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("fraudulent", "fraudulent"),
        ("unrecognized", "fraudulent"),
        ("product_not_received", "not_received"),
        ("product_unacceptable", "not_as_described"),
        ("duplicate", "duplicate"),
        ("credit_not_processed", "credit_not_processed"),
        ("subscription_canceled", "subscription"),
        ("general", "other"),
        ("noncompliant", "other"),
        (None, "other"),
    ],
)
def test_shopify_reasons_map_onto_our_categories(reason, category):
    assert reason_category(reason) == category


# --- recorded by staff ------------------------------------------------------------------------------------


class TestCreate:
    def test_a_marketplace_claim_with_its_deadline_is_queued_and_the_customer_gets_guidance(self, order, staff):
        dispute = open_dispute(order, staff)

        assert (dispute.provider, dispute.status, dispute.currency, dispute.customer) == (
            "marketplace", S.NEEDS_RESPONSE, "USD", order.customer,
        )  # fmt: skip
        assert CaseItem.objects.get(dispute=dispute).case.priority == Case.Priority.HIGH
        assert dispute.events.get().action == "opened"
        assert Message.objects.filter(trigger="dispute_opened", customer=order.customer).count() == 1

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"due_at": None}, "due_at"),
            ({"due_at": timezone.now() - dt.timedelta(minutes=1)}, "due_at"),
            ({"amount": "twelve"}, "amount"),
            ({"amount": "-1"}, "amount"),
            ({"amount": "1.234"}, "amount"),
            ({"reason_category": "bored"}, "reason_category"),
            ({"provider": "acme"}, "provider"),
            ({"kind": "complaint"}, "kind"),
            ({"currency": "EURO"}, "currency"),
        ],
    )
    def test_bad_input_is_refused_naming_the_field_and_nothing_is_kept(self, order, staff, changes, field):
        with pytest.raises(ValidationError) as refused:
            open_dispute(order, staff, **changes)
        assert field in refused.value.message_dict
        assert not Dispute.objects.exists()
        assert not Case.objects.exists()
        assert not Message.objects.exists()

    def test_another_shops_order_and_a_reference_recorded_twice_are_refused(self, order, other_shop, staff):
        foreign = OrderFactory(shop=other_shop)
        with pytest.raises(ValidationError) as refused:
            services.dispute_create(shop=order.shop, actor=staff, due_at=due_in(days=3), amount="1", order=foreign)
        assert "order" in refused.value.message_dict
        open_dispute(order, staff, external_id="A-123")
        with pytest.raises(ValidationError) as refused:
            open_dispute(order, staff, external_id="A-123")
        assert "external_id" in refused.value.message_dict


# --- working a dispute to submission ----------------------------------------------------------------------


class TestWorking:
    def test_evidence_is_added_staged_edited_and_submitted_once(self, order, staff):
        dispute = open_dispute(order, staff)
        services.dispute_evidence_add(dispute=dispute, actor=staff, title="Carrier letter", text="Left at door.")
        services.dispute_evidence_add(
            dispute=dispute, actor=staff, title="Photo", file=SimpleUploadedFile("porch.jpg", b"\xff\xd8jpeg")
        )

        dispute = services.dispute_stage(dispute=dispute, actor=staff, response_text="It was delivered.")
        assert dispute.status == S.EVIDENCE_STAGED
        assert [item["title"] for item in dispute.staged_packet["agent_evidence"]] == ["Carrier letter", "Photo"]
        assert dispute.staged_packet["response_text"] == "It was delivered."

        services.dispute_evidence_add(dispute=dispute, actor=staff, title="Chat log", text="They confirmed.")
        dispute = services.dispute_stage(dispute=dispute, actor=staff, response_text="Delivered, see chat.")
        assert len(dispute.staged_packet["agent_evidence"]) == 3

        dispute = services.dispute_submit(dispute=dispute, actor=staff)
        assert (dispute.status, dispute.submitted_at is not None) == (S.SUBMITTED, True)
        assert dispute.staged_packet["submitted_at"]
        assert dispute.staged_packet["response_text"] == "Delivered, see chat."

        with pytest.raises(InvalidTransition, match="cannot be changed or submitted again"):
            services.dispute_submit(dispute=dispute, actor=staff)
        with pytest.raises(InvalidTransition):
            services.dispute_evidence_add(dispute=dispute, actor=staff, title="Late", text="Too late.")
        with pytest.raises(InvalidTransition):
            services.dispute_stage(dispute=dispute, actor=staff)
        assert dispute.evidence.count() == 3
        assert list(dispute.events.values_list("action", flat=True)) == [
            "opened", "evidence_added", "evidence_added", S.EVIDENCE_STAGED, "evidence_added", "restaged", S.SUBMITTED,
        ]  # fmt: skip

    def test_submitting_needs_a_written_answer(self, order, staff):
        dispute = open_dispute(order, staff)
        with pytest.raises(ValidationError) as refused:
            services.dispute_submit(dispute=dispute, actor=staff, response_text="  ")
        assert "response_text" in refused.value.message_dict
        dispute.refresh_from_db()
        assert dispute.status == S.NEEDS_RESPONSE

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"title": ""}, "title"),
            ({"text": ""}, "text"),
            ({"file": SimpleUploadedFile("virus.exe", b"MZ")}, "file"),
        ],
    )
    def test_bad_evidence_is_refused_naming_the_field(self, order, staff, changes, field):
        dispute = open_dispute(order, staff)
        with pytest.raises(ValidationError) as refused:
            services.dispute_evidence_add(dispute=dispute, actor=staff, **({"title": "T", "text": "x"} | changes))
        assert field in refused.value.message_dict
        assert not dispute.evidence.exists()

    def test_an_inquiry_is_answered_through_needs_response(self, order, staff):
        dispute = open_dispute(order, staff, kind="inquiry")
        assert dispute.status == S.INQUIRY_OPEN
        dispute = services.dispute_submit(dispute=dispute, actor=staff, response_text="Here is the tracking.")
        assert dispute.status == S.SUBMITTED

    def test_outcomes_accept_settle_win_lose_and_appeal(self, order, staff):
        accepted = services.dispute_accept(dispute=open_dispute(order, staff), actor=staff)
        settled = services.dispute_settle(dispute=open_dispute(order, staff), actor=staff, note="Refunded 80.00")
        submitted = services.dispute_submit(dispute=open_dispute(order, staff), actor=staff, response_text="Ok")
        won = services.dispute_close_won(dispute=submitted, actor=staff)
        lost = services.dispute_close_lost(
            dispute=services.dispute_submit(dispute=open_dispute(order, staff), actor=staff, response_text="Ok"),
            actor=staff,
        )
        assert [d.status for d in (accepted, settled, won, lost)] == [S.ACCEPTED, S.SETTLED, S.WON, S.LOST]
        assert all(d.closed_at for d in (accepted, settled, won, lost))

        with pytest.raises(ValidationError) as refused:
            services.dispute_appeal(dispute=lost, actor=staff, due_at=None)
        assert "due_at" in refused.value.message_dict
        appeal = services.dispute_appeal(dispute=lost, actor=staff, due_at=due_in(days=30))
        assert (appeal.status, appeal.closed_at) == (S.APPEAL_OPEN, None)
        appeal = services.dispute_submit(dispute=appeal, actor=staff, response_text="New proof.")
        assert (appeal.status, appeal.appeal_submitted_at is not None) == (S.APPEAL_OPEN, True)
        with pytest.raises(InvalidTransition):
            services.dispute_submit(dispute=appeal, actor=staff, response_text="Again.")
        assert services.dispute_close_won(dispute=appeal, actor=staff).status == S.WON

        for closed in (accepted, won):
            with pytest.raises(InvalidTransition):
                services.dispute_appeal(dispute=closed, actor=staff, due_at=due_in(days=3))


# --- deadlines --------------------------------------------------------------------------------------------


class TestDeadlines:
    def test_an_unanswered_dispute_is_lost_at_its_deadline_and_the_owners_are_told_once(
        self, order, staff, django_capture_on_commit_callbacks
    ):
        MembershipFactory(shop=order.shop, role=Membership.Role.OWNER, user=UserFactory(email="co@alpha.example"))
        MembershipFactory(shop=order.shop, role=Membership.Role.AGENT, user=UserFactory(email="agent@alpha.example"))
        dispute = open_dispute(order, staff, due_at=due_in(days=2), external_id="AZ-7")
        answered = services.dispute_submit(dispute=open_dispute(order, staff, due_at=due_in(days=2)), actor=staff,
                                           response_text="Answered.")  # fmt: skip
        mail.outbox.clear()

        def expire_at(moment: dt.datetime) -> int:
            with time_machine.travel(moment), django_capture_on_commit_callbacks(execute=True):
                return services.disputes_expire_overdue()

        assert expire_at(dispute.due_at - dt.timedelta(minutes=1)) == 0
        assert expire_at(dispute.due_at + dt.timedelta(minutes=1)) == 1
        assert expire_at(dispute.due_at + dt.timedelta(minutes=6)) == 0

        dispute.refresh_from_db()
        assert (dispute.status, dispute.owner_alerted_at is not None) == (S.LOST, True)
        event = dispute.events.get(to_status=S.LOST)
        assert (event.actor_kind, event.details) == ("system", {"expired": True})
        assert len(mail.outbox) == 1
        alert = mail.outbox[0]
        assert sorted(alert.to) == ["co@alpha.example", "owner@alpha.example"]
        assert "Marketplace (Amazon, eBay, AliExpress) AZ-7" in alert.subject
        assert order.number in alert.subject
        assert f"/admin/returns/dispute/{dispute.pk}/change/" in alert.body
        answered.refresh_from_db()
        assert answered.status == S.SUBMITTED

    def test_warnings_come_at_72_24_and_4_hours_once_each_and_raise_the_case(
        self, order, staff, agent, django_capture_on_commit_callbacks
    ):
        due = timezone.now() + dt.timedelta(days=5)
        dispute = open_dispute(order, staff, due_at=due)
        case = CaseItem.objects.get(dispute=dispute).case
        mail.outbox.clear()

        def run_at(hours_before: float) -> int:
            moment = due - dt.timedelta(hours=hours_before)
            with time_machine.travel(moment), django_capture_on_commit_callbacks(execute=True):
                return services.disputes_warn_due()

        assert run_at(73) == 0
        assert run_at(71) == 1
        assert run_at(70) == 0
        dispute.refresh_from_db()
        case.refresh_from_db()
        assert (dispute.warned_hours_before, case.priority) == (72, Case.Priority.HIGH)
        assert mail.outbox[-1].to == ["owner@alpha.example"]  # nobody assigned: the owners
        Case.objects.filter(pk=case.pk).update(assignee=agent)
        agent.email = "agent@alpha.example"
        agent.save()

        assert run_at(23) == 1
        case.refresh_from_db()
        assert case.priority == Case.Priority.URGENT
        assert mail.outbox[-1].to == ["agent@alpha.example"]
        assert "due within 24 hours" in mail.outbox[-1].subject
        assert run_at(3.5) == 1
        assert run_at(1) == 0
        assert len(mail.outbox) == 3
        dispute.refresh_from_db()
        assert dispute.warned_hours_before == 4
        warnings = dispute.events.filter(action="due_warning")
        assert [event.details["hours_before"] for event in warnings] == [72, 24, 4]
        assert case.events.filter(action="priority").count() == 1  # high from the start, urgent at 24 h

    def test_a_dispute_first_seen_three_hours_before_due_gets_only_the_last_warning(self, order, staff):
        dispute = open_dispute(order, staff, due_at=due_in(hours=3))
        assert services.disputes_warn_due() == 1
        dispute.refresh_from_db()
        assert dispute.warned_hours_before == 4
        assert services.disputes_warn_due() == 0

    def test_an_answered_dispute_gets_no_warning(self, order, staff):
        dispute = open_dispute(order, staff, due_at=due_in(hours=20))
        services.dispute_submit(dispute=dispute, actor=staff, response_text="Answered.")
        assert services.disputes_warn_due() == 0


# --- the customer ---------------------------------------------------------------------------------------


@pytest.fixture
def return_portal_link():
    journeys_context.link_register(
        LinkSpec(name="return_portal", description="stand-in", worst_case="https://x",
                 make=lambda message: f"https://care.example/returns/{message.order_id}")
    )  # fmt: skip
    yield
    journeys_context._links.pop("return_portal", None)


# The customers of the factories live in New York; the guidance goes out in the send window.
MIDDAY_IN_NEW_YORK = dt.datetime.now(dt.UTC).replace(hour=17, minute=0) + dt.timedelta(days=1)


class TestCustomerGuidance:
    def test_the_customer_gets_guidance_by_email_without_a_portal_link_when_there_is_no_portal(self, order, staff):
        journeys_context._links.pop("return_portal", None)
        with time_machine.travel(MIDDAY_IN_NEW_YORK):
            open_dispute(order, staff)
            assert drain() == {"sent": 1}
        email = mail.outbox[-1]
        assert email.to == [order.customer.email]
        assert email.subject == f"About the payment dispute for order {order.number}"
        assert "we can usually fix it faster directly" in email.body
        assert "start a return" not in email.body

    def test_the_guidance_offers_the_return_portal_when_it_is_registered(self, order, staff, return_portal_link):
        order.customer.language = "de"
        order.customer.save()
        with time_machine.travel(MIDDAY_IN_NEW_YORK):
            open_dispute(order, staff)
            assert drain() == {"sent": 1}
        email = mail.outbox[-1]
        assert email.subject == f"Zur Zahlungsreklamation für Bestellung {order.number}"
        # The link goes out tracked (/l/<token>), leading to the order's return portal.
        link = TrackedLink.objects.get(message__trigger="dispute_opened")
        assert link.url == f"https://care.example/returns/{order.pk}"
        assert f"starten Sie eine Rücksendung: https://testserver/l/{link.token}" in email.body

    def test_review_requests_of_a_customer_with_an_open_dispute_wait(self, order, staff):
        waiting = MessageFactory(shop=order.shop, customer=order.customer, order=order, trigger="review_request")
        assert holds_find([waiting]) == {}
        dispute = open_dispute(order, staff)
        hold = holds_find([waiting])[waiting.pk]
        assert "open payment dispute" in hold.why
        services.dispute_accept(dispute=dispute, actor=staff)
        assert holds_find([waiting]) == {}


def test_every_shipped_language_has_the_guidance_copy():
    from journeys.services.rules import default_copy

    for language in ("en", "de", "ru", "ko", "zh-hans"):
        copy = default_copy("dispute_opened", language)
        assert copy
        assert copy["subject"]
        assert copy["html_body"]
        assert "{{ shop.name }}" in copy["body"]


def test_a_dispute_factory_row_is_open(shop):
    assert DisputeFactory(order__shop=shop).status in Dispute.OPEN


class TestTheCaseFollowsItsDispute:
    """The queue sorts by the case's due time: a dispute's deadline counts while an answer is owed, and only then."""

    def test_a_submitted_answer_takes_the_deadline_off_the_case_and_an_appeal_puts_the_new_one_on(
        self, order, staff, support_settings
    ):
        # Given a case due only by its dispute (the first answer was given long ago, no resolution clock)
        support_settings.first_response_hours = support_settings.resolution_hours = 10_000
        support_settings.save()
        dispute = open_dispute(order, staff, due_at=due_in(hours=30))
        case = Case.objects.get(order=order)
        assert case.due_at == dispute.due_at
        # When the answer is submitted, the case is no longer due by the dispute
        services.dispute_submit(dispute=dispute, actor=staff, response_text="Delivered, signed for: see tracking.")
        case.refresh_from_db()
        # Then only the case's own clocks count: its first answer, ~10,000 business hours away
        assert case.due_at == min(case.first_response_due_at, case.resolution_due_at)
        assert case.due_at > dispute.due_at
        # When it is lost and appealed with a new deadline, the case is due by that deadline
        dispute = services.dispute_close_lost(dispute=dispute, actor=staff)
        appeal_due = due_in(hours=20)
        services.dispute_appeal(dispute=dispute, actor=staff, due_at=appeal_due)
        case.refresh_from_db()
        assert case.due_at == appeal_due

    def test_a_warning_raises_the_case_priority_with_the_reason_on_the_case(self, order, staff):
        dispute = open_dispute(order, staff, due_at=due_in(hours=100))
        case = Case.objects.get(order=order)
        Case.objects.filter(pk=case.pk).update(priority=Case.Priority.NORMAL)
        with time_machine.travel(dispute.due_at - dt.timedelta(hours=20), tick=False):
            assert services.disputes_warn_due() == 1
        case.refresh_from_db()
        assert case.priority == Case.Priority.URGENT
        event = case.events.get(action="priority")
        assert "due within 24 hours" in event.note


def test_an_answered_appeal_no_longer_makes_its_case_due(order, staff, support_settings):
    support_settings.first_response_hours = support_settings.resolution_hours = 10_000
    support_settings.save()
    dispute = open_dispute(order, staff, due_at=due_in(hours=30))
    services.dispute_submit(dispute=dispute, actor=staff, response_text="Delivered, signed for.")
    dispute = services.dispute_close_lost(dispute=dispute, actor=staff)
    appeal_due = due_in(hours=20)
    dispute = services.dispute_appeal(dispute=dispute, actor=staff, due_at=appeal_due)
    services.dispute_submit(dispute=dispute, actor=staff, response_text="Here is the signed delivery slip.")
    case = Case.objects.get(order=order)
    assert case.due_at == min(case.first_response_due_at, case.resolution_due_at)
    assert case.due_at > appeal_due

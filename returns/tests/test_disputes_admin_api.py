"""Disputes as staff and API clients see them: the deadline list, the detail page with its packet, every step
from the admin, the printable packet and its PDF, the API; another shop's dispute is 404 everywhere."""

import datetime as dt
import json
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from journeys.tests.factories import MessageFactory
from merchant.actors import Actor
from merchant.services.api_keys import api_key_create
from merchant.tests.factories import OrderFactory
from returns.admin import dispute_pdf
from returns.models import CaseItem, Dispute
from returns.services import disputes as services
from returns.tests.factories import DisputeFactory, ReturnRequestFactory

pytestmark = pytest.mark.django_db
S = Dispute.Status


def url(name: str, *args) -> str:
    return reverse(f"admin:returns_dispute_{name}", args=args)


@pytest.fixture
def dispute(order, owner):
    return services.dispute_create(
        shop=order.shop, actor=Actor.staff(owner), due_at=timezone.now() + dt.timedelta(days=2, hours=3),
        amount="80.00", reason_category="not_received", order=order, external_id="AZ-1",
    )  # fmt: skip


@pytest.fixture
def foreign_dispute(other_shop):
    return DisputeFactory(order=OrderFactory(shop=other_shop), external_id="BETA-1")


@pytest.fixture
def on_file(order):
    """What the packet gathers: a parcel delivered, a message sent, a customer's reply, a return."""
    shipment = order.shipments.create(carrier="DHL", tracking_number="JJD0001", shipped_at=order.shipped_at,
                                      delivered_at=order.delivered_at, status="delivered")  # fmt: skip
    MessageFactory(shop=order.shop, customer=order.customer, order=order, trigger="delivered", status="delivered",
                   channel="email", address=order.customer.email, sent_at=order.delivered_at,
                   delivered_at=order.delivered_at + dt.timedelta(minutes=2), body="Your parcel was delivered.")  # fmt: skip
    order.customer.inbound_sms.create(shop=order.shop, from_number="+12125550123", body="Got it, thanks!",
                                      kind="reply", received_at=order.delivered_at + dt.timedelta(hours=1))  # fmt: skip
    ReturnRequestFactory(order=order, number="R-77", comment="Too small")
    return shipment


class TestAdminList:
    def test_staff_see_their_shops_disputes_soonest_deadline_first_with_the_time_left(
        self, client, agent, dispute, order, foreign_dispute, django_assert_max_num_queries
    ):
        later = DisputeFactory(order=order, external_id="LATE", due_at=timezone.now() + dt.timedelta(days=9))
        decided = DisputeFactory(order=order, external_id="DONE", due_at=None, status=S.WON)
        client.force_login(agent)
        with django_assert_max_num_queries(12):
            page = client.get(url("changelist")).content.decode()
        assert page.index("AZ-1") < page.index("LATE") < page.index("DONE")
        assert "2 d 2 h left" in page or "2 d 3 h left" in page
        assert "BETA-1" not in page
        assert later
        assert decided

    def test_another_shops_dispute_is_404_on_every_page(self, client, agent, foreign_dispute):
        client.force_login(agent)
        pk = foreign_dispute.pk
        for address in (url("change", pk), url("packet", pk), url("packet_pdf", pk)):
            assert client.get(address).status_code == 404, address
        assert client.post(url("step", pk, "accept")).status_code == 404
        assert client.post(url("evidence", pk), {"title": "x", "text": "y"}).status_code == 404
        foreign_dispute.refresh_from_db()
        assert foreign_dispute.status == S.NEEDS_RESPONSE
        assert not foreign_dispute.evidence.exists()


class TestAdminWork:
    def test_an_agent_works_a_dispute_to_submission_from_its_page(self, client, agent, dispute, on_file):
        client.force_login(agent)
        page = client.get(url("change", dispute.pk)).content.decode()
        for words in ("Proof of delivery", "JJD0001", "Your parcel was delivered.", "Got it, thanks!", "R-77"):
            assert words in page, words

        response = client.post(url("evidence", dispute.pk), {
            "title": "Signed receipt", "text": "", "file": SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 test"),
        })  # fmt: skip
        assert response.status_code == 302
        evidence = dispute.evidence.get()
        assert client.get(url("evidence_file", dispute.pk, evidence.pk)).getvalue() == b"%PDF-1.4 test"

        client.post(url("step", dispute.pk, "stage"), {"response_text": "Delivered to the door, signed."})
        dispute.refresh_from_db()
        assert dispute.status == S.EVIDENCE_STAGED
        assert dispute.staged_packet["shipments"][0]["tracking_number"] == "JJD0001"

        response = client.post(url("step", dispute.pk, "submit"), {"response_text": "Delivered to the door, signed."})
        assert response.status_code == 302
        dispute.refresh_from_db()
        assert (dispute.status, dispute.submitted_at is not None) == (S.SUBMITTED, True)

        again = client.post(url("step", dispute.pk, "submit"), {"response_text": "Once more"}, follow=True)
        assert "cannot be changed or submitted again" in again.content.decode()
        dispute.refresh_from_db()
        assert dispute.response_text == "Delivered to the door, signed."

        client.post(url("step", dispute.pk, "lost"))
        client.post(url("step", dispute.pk, "appeal"), {"due_at": "2099-01-05T17:00"})
        dispute.refresh_from_db()
        assert dispute.status == S.APPEAL_OPEN
        # Typed in the shop's zone (New York): 17:00 there is 22:00 UTC.
        assert dispute.due_at == dt.datetime(2099, 1, 5, 22, 0, tzinfo=dt.UTC)

    def test_bad_evidence_and_an_empty_answer_are_shown_on_the_page_and_change_nothing(self, client, agent, dispute):
        client.force_login(agent)
        response = client.post(
            url("evidence", dispute.pk), {"title": "Tool", "file": SimpleUploadedFile("a.exe", b"MZ")}
        )
        assert response.status_code == 400
        assert "Attach a PDF, an image" in response.content.decode()
        response = client.post(url("step", dispute.pk, "submit"), {"response_text": ""})
        assert response.status_code == 400
        assert "Write the answer to the claim before submitting." in response.content.decode()
        dispute.refresh_from_db()
        assert (dispute.status, dispute.evidence.count()) == (S.NEEDS_RESPONSE, 0)

    @pytest.mark.parametrize(("step", "status"), [("accept", S.ACCEPTED), ("settle", S.SETTLED), ("won", S.WON)])
    def test_an_outcome_is_recorded_with_one_button(self, client, owner, dispute, step, status):
        client.force_login(owner)
        assert client.post(url("step", dispute.pk, step)).status_code == 302
        dispute.refresh_from_db()
        assert dispute.status == status
        assert dispute.events.last().actor_user == owner

    def test_staff_record_a_marketplace_dispute_with_a_deadline_in_the_shops_zone(self, client, owner, order):
        client.force_login(owner)
        assert client.get(url("add")).status_code == 200
        response = client.post(url("add"), {
            "shop": order.shop.pk, "provider": "marketplace", "external_id": "EB-9", "kind": "chargeback",
            "reason_category": "not_as_described", "order_number": order.number.lstrip("#"), "amount": "40.00",
            "currency": "", "due_at": "2099-03-01T09:30",
        })  # fmt: skip
        dispute = Dispute.objects.get(external_id="EB-9")
        assert response.status_code == 302
        assert response["Location"] == url("change", dispute.pk)
        assert (dispute.order, dispute.amount, dispute.currency) == (order, Decimal("40.00"), "USD")
        assert dispute.due_at == dt.datetime(2099, 3, 1, 14, 30, tzinfo=dt.UTC)
        assert CaseItem.objects.filter(dispute=dispute).exists()

    def test_recording_a_dispute_on_an_unknown_order_or_a_past_deadline_says_which_field(self, client, owner, order):
        client.force_login(owner)
        response = client.post(url("add"), {
            "shop": order.shop.pk, "provider": "marketplace", "kind": "chargeback", "reason_category": "other",
            "order_number": "NOPE", "amount": "40.00", "due_at": "2001-01-01T00:00",
        })  # fmt: skip
        assert response.status_code == 400
        assert "No order with this number" in response.content.decode()
        response = client.post(url("add"), {
            "shop": order.shop.pk, "provider": "marketplace", "kind": "chargeback", "reason_category": "other",
            "amount": "40.00", "due_at": "2001-01-01T00:00",
        })  # fmt: skip
        assert "The deadline must be in the future." in response.content.decode()
        assert not Dispute.objects.exists()


class TestPacketDownload:
    def test_the_printable_packet_has_every_section_with_times_in_the_shops_zone(
        self, client, agent, dispute, on_file, order
    ):
        order.shop.time_zone = "Asia/Seoul"
        order.shop.save()
        client.force_login(agent)
        page = client.get(url("packet", dispute.pk)).content.decode()
        for words in (
            "@media print",
            "Order and items",
            "Item 1",
            "Payment",
            "Shipment and delivery",
            "JJD0001",
            "Messages sent to the customer",
            "Your parcel was delivered.",
            "The customer's replies",
            "Got it, thanks!",
            "Returns",
            "R-77",
            "Refunds",
            "Further evidence",
            "All times in Asia/Seoul",
        ):
            assert words in page, words  # fmt: skip
        delivered_in_seoul = timezone.localtime(order.delivered_at, dt.timezone(dt.timedelta(hours=9)))
        assert delivered_in_seoul.strftime("%Y-%m-%d %H:%M KST") in page

    def test_the_pdf_is_printed_by_chromium_when_it_is_installed(self, client, agent, dispute):
        if dispute_pdf.chromium_path() is None:
            pytest.skip("Debian's chromium is not installed here")
        client.force_login(agent)
        response = client.get(url("packet_pdf", dispute.pk))
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert 'filename="dispute-marketplace-AZ-1.pdf"' in response["Content-Disposition"]

    def test_without_chromium_the_printable_page_comes_with_a_note(self, client, agent, dispute):
        client.force_login(agent)
        with mock.patch.object(dispute_pdf, "chromium_path", return_value=None):
            response = client.get(url("packet_pdf", dispute.pk))
        assert response["Content-Type"].startswith("text/html")
        assert "A PDF could not be made on this server" in response.content.decode()

    def test_a_submitted_packet_prints_as_it_was_submitted(self, client, agent, dispute):
        actor = Actor.staff(agent)
        services.dispute_submit(dispute=dispute, actor=actor, response_text="The answer as sent.")
        dispute.refresh_from_db()
        dispute.response_text = "Changed behind its back"
        dispute.save()
        client.force_login(agent)
        page = client.get(url("packet", dispute.pk)).content.decode()
        assert "The answer as sent." in page
        assert "As submitted" in page


# --- API ------------------------------------------------------------------------------------------------


@pytest.fixture
def api(client, shop):
    cache.clear()
    token = api_key_create(shop=shop, name="erp")[1]

    class Api:
        def post(self, body, **headers):
            extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
            return client.post("/api/v1/disputes", data=json.dumps(body), content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}", **extra)  # fmt: skip

        def get(self, pk):
            return client.get(f"/api/v1/disputes/{pk}", HTTP_AUTHORIZATION=f"Bearer {token}")

    return Api()


CLAIM = {"external_id": "AZ-2026-118", "reason_category": "not_received", "amount": "80.00",
         "due_at": "2099-12-09T18:00:00Z"}  # fmt: skip


class TestApi:
    def test_a_marketplace_dispute_is_recorded_and_read_back(self, api, order, django_assert_max_num_queries):
        response = api.post(CLAIM | {"order": order.external_id}, **{"Idempotency-Key": "k-1"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["status"], body["provider"], body["order"], body["amount"], body["currency"]) == (
            "needs_response", "marketplace", order.external_id, "80.00", "USD",
        )  # fmt: skip
        replay = api.post(CLAIM | {"order": order.external_id}, **{"Idempotency-Key": "k-1"})
        assert replay["Idempotent-Replayed"] == "true"
        assert Dispute.objects.count() == 1
        with django_assert_max_num_queries(6):
            read = api.get(body["id"])
        assert read.status_code == 200
        assert read.json()["due_at"] == "2099-12-09T18:00:00Z"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"due_at": None}, "due_at"),
            ({"due_at": "2001-01-01T00:00:00Z"}, "due_at"),
            ({"reason_category": "bored"}, "reason_category"),
            ({"amount": "-3"}, "amount"),
            ({"order": "no-such-order"}, "order"),
        ],
    )
    def test_bad_fields_are_422_naming_the_field_and_nothing_is_kept(self, api, shop, changes, field):
        response = api.post({key: value for key, value in (CLAIM | changes).items() if value is not None})
        assert response.status_code == 422
        assert field in response.json()["error"]["fields"]
        assert not Dispute.objects.exists()

    def test_another_shops_dispute_and_order_are_not_found(self, api, foreign_dispute):
        assert api.get(foreign_dispute.pk).status_code == 404
        response = api.post(CLAIM | {"order": foreign_dispute.order.external_id})
        assert response.status_code == 422
        assert "order" in response.json()["error"]["fields"]

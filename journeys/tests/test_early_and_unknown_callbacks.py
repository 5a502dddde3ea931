"""Provider callbacks that come before the dispatcher recorded the send wait for it instead of failing,
and signed callbacks about messages we do not know are kept (superusers see them; shops do not)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journeys.models import Message
from journeys.providers.base import Envelope
from journeys.providers.twilio import twilio_provider_from_settings
from journeys.services.dispatch import messages_claim, messages_record, result_changes
from journeys.testing import fake_twilio
from journeys.testing.fake_twilio import SignedRequest
from journeys.tests.conftest import TWILIO_SID, TWILIO_TOKEN
from journeys.tests.twilio_posts import (
    NOON_IN_BERLIN,
    PUBLIC,
    STATUS_URL,
    drain,
    shipped_message,
    shipped_order,
    twilio_post,
)
from merchant.models import InboundEvent
from merchant.services.inbound import inbound_events_waiting_apply, inbound_events_waiting_sweep
from merchant.tasks import SCHEDULES

Status = InboundEvent.Status
PHONE = "+4915112345678"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_STATUS_CALLBACK_URL = ""


def send_without_recording(order) -> tuple[Message, object]:
    """A dispatcher ("slow") claims and sends the order's SMS through the fake Twilio but has not recorded it yet."""
    [message_id] = messages_claim(channel="sms", limit=10, owner="slow", now=timezone.now())
    provider = twilio_provider_from_settings()
    result = provider.send(Envelope(message_id=message_id, channel="sms", to=PHONE, body="Shipped"))
    provider.close()
    return Message.objects.get(pk=message_id), result


def record(message: Message, result) -> None:
    changes, _ = result_changes(message, result, now=timezone.now())
    assert messages_record(outcomes=[(message, changes)], owner="slow", now=timezone.now()) == 1


@pytest.mark.django_db(transaction=True)
def test_twilio_calling_back_before_the_dispatcher_recorded_the_send_ends_delivered(
    live_server, settings, care_shop, twilio, noon
):
    # Twilio POSTs "delivered" to the live app while the dispatcher still waits for the API's answer.
    settings.PUBLIC_BASE_URL = live_server.url
    twilio.report_before_answer = "delivered"
    order = shipped_order(care_shop)

    assert drain() == {"sent": 1}

    [(status, _body)] = twilio.early_reports
    assert status == 200
    message = shipped_message(order)
    assert (message.status, message.delivered_at) == ("delivered", timezone.now())
    event = InboundEvent.objects.get()
    assert (event.status, event.shop, event.waiting_for) == (Status.PROCESSED, care_shop, message.provider_message_id)
    assert event.result == {"message": message.pk, "from": "sent", "to": "delivered", "error_code": ""}
    assert event.attempts == 3, "waited on arrival, again just after, then applied by the dispatcher"


@pytest.mark.django_db
class TestWaiting:
    def test_a_callback_for_a_message_being_sent_waits_visibly_and_changes_nothing_yet(
        self, client, admin_client, care_shop, twilio, noon
    ):
        message, result = send_without_recording(shipped_order(care_shop))
        response = twilio_post(client, twilio.status_callback_request(result.provider_message_id, "delivered"))
        assert response.json()["status"] == "waiting"
        message.refresh_from_db()
        assert (message.status, message.delivered_at) == ("sending", None)

        page = admin_client.get(reverse("admin:merchant_inboundevent_changelist"), {"status__exact": "waiting"})
        assert page.status_code == 200
        assert f"Message {message.pk} was still being sent" in page.content.decode()

    def test_the_dispatchers_question_costs_one_query_on_the_partial_index_when_nothing_waits(self, care_shop):
        InboundEvent.objects.bulk_create(
            InboundEvent(
                shop=care_shop, source="twilio", topic="message.status", status=Status.PROCESSED, delivery_id=n
            )
            for n in range(2000)
        )
        sids = [f"SM{n:032x}" for n in range(100)]
        with CaptureQueriesContext(connection) as queries:
            assert inbound_events_waiting_apply(waiting_for=sids) == 0
        assert len(queries) == 1
        with CaptureQueriesContext(connection) as none:
            assert inbound_events_waiting_apply(waiting_for=["", ""]) == 0
        assert len(none) == 0
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE merchant_inboundevent")
                cursor.execute("EXPLAIN " + queries[0]["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "merchant_inbound_waiting_idx" in plan

    def test_the_sweep_applies_what_the_dispatcher_missed_after_a_minute(self, client, care_shop, twilio, noon):
        message, result = send_without_recording(shipped_order(care_shop))
        twilio_post(client, twilio.status_callback_request(result.provider_message_id, "delivered"))
        record(message, result)  # the dispatcher died before it applied the waiting events

        noon.shift(30)
        assert inbound_events_waiting_sweep() == {"applied": 0, "still_waiting": 0, "given_up": 0, "other": 0}
        assert InboundEvent.objects.get().status == Status.WAITING

        noon.shift(31)
        assert inbound_events_waiting_sweep()["applied"] == 1
        message.refresh_from_db()
        assert message.status == "delivered"
        assert InboundEvent.objects.get().status == Status.PROCESSED

    def test_a_callback_still_waiting_after_a_day_is_failed_with_the_reason(self, client, care_shop, twilio, noon):
        message, result = send_without_recording(shipped_order(care_shop))
        Message.objects.filter(pk=message.pk).update(lease_until=NOON_IN_BERLIN + dt.timedelta(days=30))
        twilio_post(client, twilio.status_callback_request(result.provider_message_id, "delivered"))

        noon.shift(dt.timedelta(hours=2))
        assert inbound_events_waiting_sweep()["still_waiting"] == 1
        noon.shift(dt.timedelta(hours=23))
        assert inbound_events_waiting_sweep()["given_up"] == 1
        event = InboundEvent.objects.get()
        assert event.status == Status.FAILED
        assert event.error.startswith(f"Gave up after waiting 24 hours. Message {message.pk} was still being sent")
        assert Message.objects.get(pk=message.pk).status == "sending"

    def test_a_late_sent_applied_after_delivered_does_not_move_the_message_back(self, client, care_shop, twilio, noon):
        message, result = send_without_recording(shipped_order(care_shop))
        for status in ("delivered", "sent"):  # out of order, both before the dispatcher recorded
            twilio_post(client, twilio.status_callback_request(result.provider_message_id, status))
        record(message, result)
        assert inbound_events_waiting_apply(waiting_for=[result.provider_message_id]) == 1
        message.refresh_from_db()
        assert message.status == "delivered"
        assert list(InboundEvent.objects.order_by("id").values_list("status", flat=True)) == ["processed", "ignored"]

    def test_the_sweep_is_a_declared_schedule(self):
        sweep = next(spec for spec in SCHEDULES if spec.name == "merchant.inbound_events_waiting_sweep")
        assert (sweep.func, sweep.minutes) == ("merchant.tasks.inbound_events_waiting_sweep_task", 1)


def unknown_callback(*, token: str = TWILIO_TOKEN, account_sid: str = TWILIO_SID) -> SignedRequest:
    """A status callback for a text another system sent through the same Twilio account."""
    params = {
        "MessageSid": "SM" + "e" * 32,
        "MessageStatus": "delivered",
        "AccountSid": account_sid,
        "To": "+14155550100",
    }
    return SignedRequest(STATUS_URL, params, fake_twilio.signature(STATUS_URL, params, token))


@pytest.mark.django_db
class TestUnknownMessages:
    def test_a_signed_callback_about_no_message_of_ours_is_kept_without_a_shop(self, client, shop, twilio):
        response = twilio_post(client, unknown_callback())
        assert response.status_code == 200
        event = InboundEvent.objects.get(pk=response.json()["event"])
        assert (event.shop, event.status, event.delivery_id) == (None, Status.IGNORED, "SM" + "e" * 32)
        assert "No SMS of ours matches Twilio message" in event.error

    def test_an_unsigned_callback_about_no_message_of_ours_is_refused_and_not_stored(self, client, shop, twilio):
        forged = unknown_callback(token="guess")
        assert twilio_post(client, forged).status_code == 403
        assert twilio_post(client, forged, signature="").status_code == 403
        assert not InboundEvent.objects.exists()

    def test_superusers_see_shopless_events_and_a_shops_people_do_not(self, client, owner, superuser, shop, twilio):
        event_id = twilio_post(client, unknown_callback()).json()["event"]
        changelist = reverse("admin:merchant_inboundevent_changelist")
        change = reverse("admin:merchant_inboundevent_change", args=[event_id])

        client.force_login(superuser)
        page = client.get(changelist)
        assert page.status_code == 200
        assert page.context["cl"].result_count == 1
        assert client.get(change).status_code == 200

        client.force_login(owner)
        page = client.get(changelist)
        assert page.status_code == 200
        assert page.context["cl"].result_count == 0
        assert client.get(change).status_code == 404

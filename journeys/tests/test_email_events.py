"""ESP events through django-anymail's real webhook views (Postmark, Mailgun, SendGrid payloads): stored first,
applied once, forward only; hard bounces, complaints and unsubscribes stop further email to the address."""

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.core import mail
from django.urls import reverse

from journeys.models import ConsentRecord, Message
from journeys.services.dispatch import messages_record
from journeys.services.email_events import APPLIED, email_event_apply
from journeys.tests.factories import MessageFactory
from journeys.tests.test_email_unsubscribe import berlin_customer, drain, email_rules, shipped_order  # noqa: F401
from merchant.models import Customer, InboundEvent
from merchant.services.inbound import inbound_events_drain, inbound_events_waiting_apply
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
SECRET = "anymail-hook:correct-horse-battery"
MAILGUN_KEY = "mailgun-signing-key-for-tests"
POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
MAILGUN_ID = "20260610100000.1.ABCDEF@mg.alpha.example"
Status = Message.Status


@pytest.fixture(autouse=True)
def anymail_secrets(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": [SECRET], "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


def basic_auth(secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


def post_postmark(client, payload: dict, *, secret: str = SECRET):
    return client.post(
        reverse("anymail:postmark_tracking_webhook"),
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(secret),
    )


def post_mailgun(client, event_data: dict, *, token: str, key: str = MAILGUN_KEY):
    timestamp = "1781085600"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    body = {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}
    return client.post(
        reverse("anymail:mailgun_tracking_webhook"),
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(),
    )


def apply_received() -> None:
    inbound_events_drain(max_seconds=0)  # what the cluster's drainer does right after


# Payload shapes as Postmark documents its webhooks (and anymail's tests use them).
def postmark_delivery(message_id=POSTMARK_ID, recipient="kim@example.com", at="2026-06-10T10:01:00.9070259Z"):
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": recipient,
        "Tag": "shipped",
        "DeliveredAt": at,
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {},
    }


def postmark_open(message_id=POSTMARK_ID, at="2026-06-10T10:05:00Z"):
    return {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "Metadata": {},
        "FirstOpen": True,
        "Recipient": "kim@example.com",
        "MessageID": message_id,
        "ReceivedAt": at,
        "Platform": "WebMail",
        "ReadSeconds": 5,
        "Tag": "shipped",
        "UserAgent": "Mozilla/5.0",
    }


def postmark_click(message_id=POSTMARK_ID, at="2026-06-10T10:06:00Z"):
    return {
        "RecordType": "Click",
        "MessageStream": "outbound",
        "ClickLocation": "HTML",
        "Recipient": "kim@example.com",
        "MessageID": message_id,
        "ReceivedAt": at,
        "Platform": "Desktop",
        "OriginalLink": "https://t.example/track?n=1",
        "Tag": "shipped",
        "Metadata": {},
        "UserAgent": "Mozilla/5.0",
    }


def postmark_bounce(
    message_id=POSTMARK_ID, *, bounce_id=4323372036854775807, kind="HardBounce", email="kim@example.com"
):
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "shipped",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "care@alpha.example",
        "BouncedAt": "2026-06-10T10:02:00Z",
        "DumpAvailable": True,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "Your parcel is on its way",
    }


def postmark_complaint(message_id=POSTMARK_ID, email="kim@example.com"):
    return {
        **postmark_bounce(message_id, bounce_id=42, email=email),
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Description": "The subscriber explicitly marked this message as spam.",
    }


# Mailgun's "event-data" of its JSON webhooks.
def mailgun_event(event: str, *, message_id=MAILGUN_ID, recipient="kim@example.com", **extra):
    return {
        "event": event,
        "timestamp": 1781085660.5,
        "id": f"evt-{event}",
        "recipient": recipient,
        "message": {"headers": {"message-id": message_id, "to": recipient, "from": "care@alpha.example"}},
        "tags": ["shipped"],
        "user-variables": {},
        "delivery-status": {"code": 250, "message": "OK", "description": ""},
        **extra,
    }


@pytest.fixture
def customer(shop):
    return CustomerFactory(shop=shop, email="kim@example.com")


@pytest.fixture
def sent(shop, customer):
    """An email the ESP accepted: its id is what the ESP's events quote."""
    return MessageFactory(
        shop=shop,
        customer=customer,
        channel="email",
        address="kim@example.com",
        status=Status.SENT,
        provider="email",
        provider_message_id=POSTMARK_ID,
        sent_at=dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC),
    )


def refreshed(message: Message) -> Message:
    message.refresh_from_db()
    return message


class TestPostmark:
    def test_delivery_open_and_click_move_the_message_forward_and_keep_their_times(self, client, sent):
        for payload in (postmark_delivery(), postmark_open(), postmark_click()):
            assert post_postmark(client, payload).status_code == 200
        stored = list(InboundEvent.objects.order_by("id").values_list("source", "topic", "status", "shop"))
        assert stored == [("anymail", topic, "received", sent.shop_id) for topic in ("delivered", "opened", "clicked")]
        apply_received()
        message = refreshed(sent)
        assert message.status == Status.DELIVERED
        assert message.delivered_at == dt.datetime(2026, 6, 10, 10, 1, 0, 907025, tzinfo=dt.UTC)
        assert message.opened_at == dt.datetime(2026, 6, 10, 10, 5, tzinfo=dt.UTC)
        assert message.clicked_at == dt.datetime(2026, 6, 10, 10, 6, tzinfo=dt.UTC)
        assert set(InboundEvent.objects.values_list("status", flat=True)) == {"processed"}

    def test_a_hard_bounce_fails_the_message_and_opts_out_every_customer_of_the_shop_at_that_address(
        self, client, sent, other_shop
    ):
        twin = CustomerFactory(shop=sent.shop, email="Kim@Example.com")  # the same mailbox, entered twice
        elsewhere = CustomerFactory(shop=other_shop, email="kim@example.com")
        assert post_postmark(client, postmark_bounce()).status_code == 200
        apply_received()
        message = refreshed(sent)
        assert (message.status, message.reason, message.error_code) == ("failed", "invalid_address", "bounced")
        assert message.error.startswith("The server was unable to deliver your message")
        opted_out = set(Customer.objects.filter(email_opted_out_at__isnull=False))
        assert opted_out == {sent.customer, twin}
        assert elsewhere not in opted_out
        assert set(ConsentRecord.objects.values_list("source", "message", "actor")) == {
            ("email_bounce", sent.pk, "Postmark webhook")
        }

    def test_a_soft_bounce_changes_nothing(self, client, sent):
        post_postmark(client, postmark_bounce(kind="SoftBounce"))
        apply_received()
        assert refreshed(sent).status == Status.SENT
        assert not ConsentRecord.objects.exists()

    def test_a_repeated_delivery_of_the_same_event_is_applied_once(self, client, sent):
        post_postmark(client, postmark_bounce())
        post_postmark(client, postmark_bounce())
        apply_received()
        assert list(InboundEvent.objects.order_by("id").values_list("status", flat=True)) == ["processed", "duplicate"]
        assert ConsentRecord.objects.count() == 1

    def test_repeated_opens_are_each_kept_but_the_first_open_time_stays(self, client, sent):
        post_postmark(client, postmark_open(at="2026-06-10T10:05:00Z"))
        post_postmark(client, postmark_open(at="2026-06-10T18:00:00Z"))
        apply_received()
        assert InboundEvent.objects.filter(status="processed").count() == 2
        assert refreshed(sent).opened_at == dt.datetime(2026, 6, 10, 10, 5, tzinfo=dt.UTC)

    def test_events_out_of_order_never_move_the_message_back(self, client, sent):
        post_postmark(client, postmark_open())  # the open arrives first: the email was delivered
        apply_received()
        assert (refreshed(sent).status, refreshed(sent).delivered_at) == (
            Status.DELIVERED,
            dt.datetime(2026, 6, 10, 10, 5, tzinfo=dt.UTC),
        )
        post_postmark(client, postmark_delivery(at="2026-06-10T10:01:00Z"))  # the late delivery: earlier time
        post_postmark(client, postmark_bounce())  # an asynchronous bounce after delivery
        apply_received()
        message = refreshed(sent)
        assert message.status == Status.DELIVERED, "delivered is final; the bounce does not undo it"
        assert message.delivered_at == dt.datetime(2026, 6, 10, 10, 1, tzinfo=dt.UTC)
        assert refreshed_customer(sent).email_opted_out_at is not None, "the address is still marked"
        assert ConsentRecord.objects.get().source == "email_bounce"

    def test_an_event_about_mail_we_did_not_send_is_kept_without_a_shop_and_changes_nothing(self, client, sent):
        assert post_postmark(client, postmark_delivery(message_id="not-ours")).status_code == 200
        event = InboundEvent.objects.get()
        assert (event.shop, event.topic, event.status) == (None, "delivered", "received")
        apply_received()
        event.refresh_from_db()
        assert event.status == "ignored"
        assert "No email of ours has ESP message id not-ours" in event.error
        assert refreshed(sent).status == Status.SENT

    def test_an_event_stored_before_its_id_was_recorded_joins_the_shop_of_the_message_it_finds(self, client, sent):
        Message.objects.filter(pk=sent.pk).update(provider_message_id="")  # no id recorded, no metadata sent back
        post_postmark(client, postmark_delivery())
        assert InboundEvent.objects.get().shop is None
        Message.objects.filter(pk=sent.pk).update(provider_message_id=POSTMARK_ID)  # the dispatcher records it
        apply_received()
        event = InboundEvent.objects.get()
        assert (event.shop, event.status) == (sent.shop, "processed")
        assert refreshed(sent).status == Status.DELIVERED

    def test_a_repeated_event_about_mail_we_did_not_send_is_kept_once_as_received(self, client, sent):
        post_postmark(client, postmark_delivery(message_id="not-ours"))
        post_postmark(client, postmark_delivery(message_id="not-ours"))
        assert list(InboundEvent.objects.order_by("id").values_list("shop", "status")) == [
            (None, "received"),
            (None, "duplicate"),
        ]

    def test_without_the_webhook_secret_nothing_is_stored(self, client, sent):
        assert post_postmark(client, postmark_bounce(), secret="anymail-hook:guess").status_code == 400
        response = client.post(
            reverse("anymail:postmark_tracking_webhook"), json.dumps(postmark_bounce()), content_type="application/json"
        )
        assert response.status_code == 400
        assert not InboundEvent.objects.exists()

    def test_the_webhooks_are_closed_until_a_secret_is_configured(self, client, sent, settings):
        settings.ANYMAIL = {}
        response = post_postmark(client, postmark_bounce())
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_configured"
        assert not InboundEvent.objects.exists()


def refreshed_customer(message: Message) -> Customer:
    return Customer.objects.get(pk=message.customer_id)


class TestMailgun:
    @pytest.fixture
    def sent(self, sent):
        Message.objects.filter(pk=sent.pk).update(provider_message_id=f"<{MAILGUN_ID}>")
        return sent

    def test_delivered_then_opened(self, client, sent):
        assert post_mailgun(client, mailgun_event("delivered"), token="t-1").status_code == 200
        assert post_mailgun(client, mailgun_event("opened"), token="t-2").status_code == 200
        apply_received()
        message = refreshed(sent)
        assert message.status == Status.DELIVERED
        assert message.opened_at == dt.datetime.fromtimestamp(1781085660.5, tz=dt.UTC)

    def test_a_permanent_failure_fails_and_opts_out_a_temporary_one_waits(self, client, sent):
        temporary = mailgun_event("failed", severity="temporary", reason="generic")
        assert post_mailgun(client, temporary, token="t-1").status_code == 200
        apply_received()
        assert refreshed(sent).status == Status.SENT
        assert InboundEvent.objects.get().topic == "deferred"

        permanent = mailgun_event(
            "failed",
            severity="permanent",
            reason="bounce",
            **{"delivery-status": {"code": 550, "message": "5.1.1 No such user", "description": "No such user here"}},
        )
        assert post_mailgun(client, permanent, token="t-2").status_code == 200
        apply_received()
        message = refreshed(sent)
        assert (message.status, message.error) == (Status.FAILED, "No such user here")
        assert refreshed_customer(sent).email_opted_out_at is not None

    def test_a_complaint_opts_out_and_proves_delivery(self, client, sent):
        post_mailgun(client, mailgun_event("complained"), token="t-1")
        apply_received()
        assert refreshed(sent).status == Status.DELIVERED
        assert ConsentRecord.objects.get().source == "email_complaint"

    def test_an_unsubscribe_at_the_esp_opts_out(self, client, sent):
        post_mailgun(client, mailgun_event("unsubscribed"), token="t-1")
        apply_received()
        assert ConsentRecord.objects.get().source == "email_unsubscribe"
        assert refreshed(sent).status == Status.SENT, "an unsubscribe says nothing about delivery"

    def test_a_wrong_signature_is_refused_and_nothing_is_stored(self, client, sent):
        assert post_mailgun(client, mailgun_event("complained"), token="t-1", key="wrong").status_code == 400
        assert not InboundEvent.objects.exists()

    def test_a_delivery_before_the_dispatcher_recorded_the_send_waits_and_is_applied_once_it_is(self, client, sent):
        # The ESP can report a delivery before the dispatcher has written its answer (and id) down.
        lease = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        Message.objects.filter(pk=sent.pk).update(
            status=Status.SENDING, provider_message_id="", lease_owner="slow", lease_until=lease
        )
        early = mailgun_event("delivered", **{"user-variables": {"journeys_message": str(sent.pk)}})
        assert post_mailgun(client, early, token="t-1").status_code == 200
        apply_received()
        event = InboundEvent.objects.get()
        assert (event.status, event.waiting_for) == ("waiting", f"<{MAILGUN_ID}>")
        assert "still being sent" in event.error
        message = refreshed(sent)
        assert (message.status, message.delivered_at) == (Status.SENDING, None), "left to the dispatcher"

        # The dispatcher records the send ("sent", with the ESP's id), then applies what waited for it.
        sent_at = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
        recorded = {"status": Status.SENT, "provider_message_id": f"<{MAILGUN_ID}>", "sent_at": sent_at}
        assert messages_record(outcomes=[(message, recorded)], owner="slow", now=sent_at) == 1
        assert inbound_events_waiting_apply(waiting_for=[f"<{MAILGUN_ID}>"]) == 1
        message = refreshed(sent)
        assert (message.status, message.delivered_at) == (
            Status.DELIVERED,
            dt.datetime.fromtimestamp(1781085660.5, tz=dt.UTC),
        )
        assert InboundEvent.objects.get().status == "processed"

    def test_an_unsubscribe_while_the_message_is_sending_applies_at_once(self, client, sent):
        Message.objects.filter(pk=sent.pk).update(
            status=Status.SENDING, provider_message_id="", lease_until=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        )
        event_data = mailgun_event("unsubscribed", **{"user-variables": {"journeys_message": str(sent.pk)}})
        post_mailgun(client, event_data, token="t-1")
        apply_received()
        assert InboundEvent.objects.get().status == "processed"
        assert ConsentRecord.objects.get().source == "email_unsubscribe"
        assert refreshed(sent).status == Status.SENDING


def test_a_mailjet_batch_without_event_ids_is_stored_event_by_event_and_a_resend_is_applied_once(client, sent):
    # Mailjet posts several events in one array and gives them no id: the payload itself is the key.
    Message.objects.filter(pk=sent.pk).update(provider_message_id="19421777835146490")
    batch = [
        {
            "event": "sent",
            "time": 1781085660,
            "MessageID": 19421777835146490,
            "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0ab1c2d",
            "email": "kim@example.com",
            "mj_campaign_id": 7257,
            "mj_contact_id": 4,
            "customcampaign": "",
            "CustomID": "",
            "Payload": "",
            "smtp_reply": "sent (250 2.0.0 OK 1781085660 gsmtp)",
        },
        {
            "event": "open",
            "time": 1781085720,
            "MessageID": 19421777835146490,
            "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0ab1c2d",
            "email": "kim@example.com",
            "mj_campaign_id": 7257,
            "mj_contact_id": 4,
            "customcampaign": "",
            "CustomID": "",
            "Payload": "",
            "ip": "192.0.2.1",
            "geo": "DE",
            "agent": "Mozilla/5.0",
        },
    ]
    for _delivery in range(2):
        response = client.post(
            reverse("anymail:mailjet_tracking_webhook"),
            json.dumps(batch),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(),
        )
        assert response.status_code == 200
    stored = list(InboundEvent.objects.order_by("id").values_list("topic", "status"))
    assert stored == [
        ("delivered", "received"),
        ("opened", "received"),
        ("delivered", "duplicate"),
        ("opened", "duplicate"),
    ]
    apply_received()
    message = refreshed(sent)
    assert (message.status, message.opened_at) == (Status.DELIVERED, dt.datetime.fromtimestamp(1781085720, tz=dt.UTC))
    assert InboundEvent.objects.filter(status="processed").count() == 2


def test_a_bounce_reported_for_a_real_send_stops_the_next_email(client, care_shop, noon):  # noqa: F811
    email_rules(care_shop)
    customer = berlin_customer(care_shop)
    first = shipped_order(care_shop, customer, number="#1")
    assert drain() == {"sent": 1}
    queued = shipped_order(care_shop, customer, number="#2")
    message = Message.objects.get(order=first, trigger="shipped")
    assert post_postmark(client, postmark_bounce(message.provider_message_id, email=customer.email)).status_code == 200
    apply_received()
    assert refreshed(message).status == Status.FAILED

    assert drain() == {"suppressed": 1}
    assert (Message.objects.get(order=queued, trigger="shipped").reason, len(mail.outbox)) == ("opted_out", 1)


@pytest.mark.parametrize("status", Status.values)
@pytest.mark.parametrize("event_type", sorted(APPLIED - {"deferred"}))
def test_no_event_moves_a_message_against_its_transition_table(shop, customer, status, event_type):
    message = MessageFactory(
        shop=shop,
        customer=customer,
        channel="email",
        address="kim@example.com",
        status=status,
        lease_until=dt.datetime(2030, 1, 1, tzinfo=dt.UTC) if status == Status.SENDING else None,
    )
    email_event_apply(message=message, event_type=event_type, at=dt.datetime(2026, 6, 10, tzinfo=dt.UTC))
    after = refreshed(message).status
    assert after == status or after in Message.TRANSITIONS[status]
    if status in Message.OPEN:
        assert after == status, "scheduled and sending rows belong to the dispatcher"

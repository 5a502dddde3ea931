"""Twilio's status callbacks as Twilio sends them (built and signed by the fake Twilio): signatures,
TLS proxies, repeats and out-of-order reports, and what error codes say about the recipient."""

import base64
import json
import urllib.request

import pytest
from django.utils import timezone

from journeys.models import ConsentRecord, Message, SmsAccount
from journeys.providers.base import Envelope
from journeys.providers.twilio import twilio_provider_from_settings
from journeys.providers.twilio_webhooks import request_signature, signature_valid, url_port_variants
from journeys.services.dispatch import messages_claim, messages_record, result_changes
from journeys.testing import fake_twilio
from journeys.testing.fake_twilio import FakeTwilio, SignedRequest
from journeys.tests.conftest import TWILIO_SID, TWILIO_TOKEN
from journeys.tests.twilio_posts import (
    PUBLIC,
    STATUS_URL,
    SYSTEM,
    drain,
    shipped_message,
    shipped_order,
    twilio_post,
)
from merchant.models import InboundEvent
from merchant.services import orders
from merchant.services.inbound import inbound_events_waiting_apply
from merchant.tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db
Status = InboundEvent.Status

# The example of Twilio's docs, re-computed in the shared reference (external-formats.md §4.4).
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_STATUS_CALLBACK_URL = ""


@pytest.fixture
def sent(care_shop, twilio, noon):
    """The shipped SMS of an order, sent through the fake Twilio: (message, its Twilio sid)."""
    order = shipped_order(care_shop)
    assert drain() == {"sent": 1}
    message = shipped_message(order)
    assert message.status == "sent"
    return message, message.provider_message_id


def second_shipped_order(shop, customer, *, number):
    order = orders.order_create(shop=shop, number=number, currency="EUR", actor=SYSTEM, customer=customer)
    orders.order_mark_paid(order=order, actor=SYSTEM)
    orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL")
    return order


def report(client, twilio, sid, status, **options):
    """Twilio POSTs a status callback for `sid`; returns (response, the message afterwards)."""
    response = twilio_post(client, twilio.status_callback_request(sid, status, **options))
    return response, Message.objects.get(provider_message_id=sid)


class TestSignature:
    def test_the_known_answer_vector_of_twilios_docs(self):
        assert request_signature(VECTOR_URL, VECTOR_PARAMS, "12345") == VECTOR_SIGNATURE
        assert fake_twilio.signature(VECTOR_URL, VECTOR_PARAMS, "12345") == VECTOR_SIGNATURE
        assert signature_valid(urls=[VECTOR_URL], params=VECTOR_PARAMS, token="12345", signature=VECTOR_SIGNATURE)
        assert not signature_valid(urls=[VECTOR_URL], params=VECTOR_PARAMS, token="12346", signature=VECTOR_SIGNATURE)
        changed = {**VECTOR_PARAMS, "Digits": "1235"}
        assert not signature_valid(urls=[VECTOR_URL], params=changed, token="12345", signature=VECTOR_SIGNATURE)

    def test_repeated_parameters_are_signed_with_their_values_sorted(self):
        url = "https://care.example.com/hook"
        expected = fake_twilio.signature(url, {"A": "1"}, "t")
        assert request_signature(url, {"A": ["1"]}, "t") == expected
        both = request_signature(url, {"M": ["b", "a"]}, "t")
        assert both == fake_twilio.signature(url + "Ma", {"M": "b"}, "t")

    def test_a_signature_over_the_url_with_or_without_its_default_port_is_accepted(self):
        assert url_port_variants("https://care.example.com/x?a=1") == [
            "https://care.example.com/x?a=1",
            "https://care.example.com:443/x?a=1",
        ]
        assert url_port_variants("http://care.example.com:80/x") == [
            "http://care.example.com:80/x",
            "http://care.example.com/x",
        ]
        assert url_port_variants("https://care.example.com:8443/x") == ["https://care.example.com:8443/x"]
        signed_with_port = fake_twilio.signature("https://care.example.com:443/x", {"A": "1"}, "t")
        assert signature_valid(
            urls=["https://care.example.com/x"], params={"A": ["1"]}, token="t", signature=signed_with_port
        )

    def test_a_good_signature_is_accepted_and_applied(self, client, twilio, sent):
        message, sid = sent
        response, message = report(client, twilio, sid, "delivered")
        assert response.status_code == 200
        event = InboundEvent.objects.get(pk=response.json()["event"])
        assert (event.source, event.topic, event.status, event.delivery_id) == (
            "twilio",
            "message.status",
            "processed",
            sid,
        )
        assert event.headers["Request-URL"] == f"{STATUS_URL}?message_id={message.pk}"
        assert message.status == "delivered"

    @pytest.mark.parametrize(
        "signature",
        [
            "",  # missing
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",  # someone else's
            "not base64 at all",
        ],
    )
    def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_stored(self, client, twilio, sent, signature):
        message, sid = sent
        request = twilio.status_callback_request(sid, "undelivered", error_code=21610)
        response = twilio_post(client, request, signature=signature)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "bad_signature"
        assert not InboundEvent.objects.exists()
        message.refresh_from_db()
        assert message.status == "sent"
        assert message.customer.sms_opted_out_at is None
        assert not ConsentRecord.objects.exists()

    def test_a_parameter_changed_after_signing_is_refused(self, client, twilio, sent):
        message, sid = sent
        url, params, signature = twilio.status_callback_request(sid, "delivered")
        forged = SignedRequest(url, {**params, "MessageStatus": "undelivered", "ErrorCode": "21610"}, signature)
        assert twilio_post(client, forged).status_code == 403
        assert Message.objects.get(pk=message.pk).status == "sent"

    def test_a_signature_made_with_another_token_or_for_an_unknown_account_is_refused(self, client, twilio, sent):
        message, sid = sent
        assert (
            twilio_post(client, twilio.status_callback_request(sid, "delivered", auth_token="guess")).status_code == 403
        )
        url, params, _ = twilio.status_callback_request(sid, "delivered")
        unknown = {**params, "AccountSid": "AC" + "f" * 32}
        request = SignedRequest(url, unknown, fake_twilio.signature(url, unknown, TWILIO_TOKEN))
        assert twilio_post(client, request).status_code == 403
        assert not InboundEvent.objects.exists()

    def test_behind_a_tls_proxy_the_signature_is_checked_against_the_https_url_twilio_called(
        self, client, twilio, sent, settings
    ):
        # Twilio called https://testserver/...; the proxy forwards plain http with X-Forwarded-Proto.
        settings.PUBLIC_BASE_URL = "https://somewhere-else.example"
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        message, sid = sent
        request = twilio.status_callback_request(
            sid, "delivered", url=f"https://testserver/webhooks/twilio/status?message_id={message.pk}"
        )
        assert twilio_post(client, request, HTTP_HOST="testserver").status_code == 403, "seen as http://"
        response = twilio_post(client, request, HTTP_HOST="testserver", HTTP_X_FORWARDED_PROTO="https")
        assert response.status_code == 200
        assert Message.objects.get(pk=message.pk).status == "delivered"

    def test_the_public_base_url_is_used_when_the_proxy_is_not_trusted(self, client, twilio, sent, settings):
        settings.SECURE_PROXY_SSL_HEADER = None
        message, sid = sent
        # Sent with StatusCallback on PUBLIC_BASE_URL; the request reaches us as http://testserver.
        assert twilio.message(sid)["status_callback"] == f"{STATUS_URL}?message_id={message.pk}"
        response, message = report(client, twilio, sid, "delivered")
        assert response.status_code == 200
        assert message.status == "delivered"


class TestStatusesMoveForwardOnly:
    def test_delivered_sets_the_time_and_a_late_sent_does_not_move_it_back(self, client, twilio, sent, noon):
        message, sid = sent
        noon.shift(60)
        response, message = report(client, twilio, sid, "delivered")
        assert (message.status, message.delivered_at) == ("delivered", timezone.now())
        response, message = report(client, twilio, sid, "sent")
        event = InboundEvent.objects.get(pk=response.json()["event"])
        assert event.status == Status.IGNORED
        assert "is delivered; a “sent” report does not move it" in event.error
        assert message.status == "delivered"

    def test_the_same_callback_twice_is_stored_as_a_duplicate_and_applied_once(self, client, twilio, sent):
        message, sid = sent
        first, _ = report(client, twilio, sid, "delivered")
        second, message = report(client, twilio, sid, "delivered")
        assert first.status_code == second.status_code == 200
        assert second.json()["status"] == Status.DUPLICATE
        assert InboundEvent.objects.get(pk=second.json()["event"]).duplicate_of_id == first.json()["event"]
        assert message.status == "delivered"

    def test_out_of_order_delivered_before_queued_and_sent_ends_delivered(self, client, twilio, sent):
        message, sid = sent
        for status in ("delivered", "queued", "sent", "sending"):
            response, message = report(client, twilio, sid, status)
            assert response.status_code == 200
        assert message.status == "delivered"
        outcomes = list(InboundEvent.objects.order_by("id").values_list("status", flat=True))
        assert outcomes == ["processed", "ignored", "ignored", "ignored"]

    def test_a_failure_reported_after_delivery_is_ignored(self, client, twilio, sent):
        message, sid = sent
        report(client, twilio, sid, "delivered")
        response, message = report(client, twilio, sid, "undelivered", error_code=30007)
        assert InboundEvent.objects.get(pk=response.json()["event"]).status == Status.IGNORED
        assert (message.status, message.error_code) == ("delivered", "")

    def test_a_status_the_outbox_does_not_track_changes_nothing(self, client, twilio, sent):
        message, sid = sent
        response, message = report(client, twilio, sid, "canceled")
        event = InboundEvent.objects.get(pk=response.json()["event"])
        assert (event.status, message.status) == (Status.IGNORED, "sent")
        assert "canceled" in event.error

    def test_a_report_arriving_while_the_dispatcher_still_sends_is_applied_once_the_send_is_recorded(
        self, client, care_shop, twilio, noon
    ):
        order = shipped_order(care_shop)
        message = shipped_message(order)
        [message_id] = messages_claim(channel="sms", limit=10, owner="slow", now=timezone.now())
        provider = twilio_provider_from_settings()
        result = provider.send(Envelope(message_id=message_id, channel="sms", to="+4915112345678", body="Shipped"))
        provider.close()
        # Twilio reports delivery before the dispatcher has written down that it sent the message.
        response = twilio_post(client, twilio.status_callback_request(result.provider_message_id, "delivered"))
        early = InboundEvent.objects.get(pk=response.json()["event"])
        assert (early.status, early.waiting_for) == (Status.WAITING, result.provider_message_id)
        assert "still being sent" in early.error
        assert Message.objects.get(pk=message_id).status == "sending"

        message = Message.objects.get(pk=message_id)
        changes, _ = result_changes(message, result, now=timezone.now())
        assert messages_record(outcomes=[(message, changes)], owner="slow", now=timezone.now()) == 1
        assert inbound_events_waiting_apply(waiting_for=[result.provider_message_id]) == 1
        message.refresh_from_db()
        assert (message.status, message.delivered_at) == ("delivered", timezone.now())

    def test_a_report_naming_another_shops_message_is_ignored_there(self, client, twilio, sent, settings):
        message, sid = sent
        # A second shop with its own account; it signs a callback naming the first shop's message.
        other = MerchantFactory()
        token = "other-shop-token"
        SmsAccount.objects.create(
            shop=other, label="Other", account_sid="AC" + "1" * 32, auth_token=token, from_number="+15005550007"
        )
        url = f"{STATUS_URL}?message_id={message.pk}"
        params = {
            "MessageSid": sid,
            "MessageStatus": "undelivered",
            "ErrorCode": "21610",
            "AccountSid": "AC" + "1" * 32,
        }
        response = twilio_post(client, SignedRequest(url, params, fake_twilio.signature(url, params, token)))
        assert response.status_code == 200
        event = InboundEvent.objects.get(pk=response.json()["event"])
        assert (event.shop, event.status) == (other, Status.IGNORED)
        message.refresh_from_db()
        assert message.status == "sent"
        assert message.customer.sms_opted_out_at is None


class TestWhatErrorCodesSay:
    def test_carrier_filtering_30007_marks_the_message_failed_with_the_code(self, client, twilio, sent):
        message, sid = sent
        twilio.set_status(sid, "undelivered", error_code=30007)
        response, message = report(client, twilio, sid, None)
        assert response.status_code == 200
        assert (message.status, message.error_code, message.error) == ("failed", "30007", "Carrier violation")
        assert "not delivered (30007: Carrier violation)" in message.explanation
        assert message.finished_at is not None
        assert message.customer.phone, "a carrier's filter says nothing about the number"

    def test_the_fake_reports_30007_on_a_message_fetch_like_the_real_fixture(self, twilio, sent):
        _, sid = sent
        twilio.set_status(sid, "undelivered", error_code=30007)
        request = urllib.request.Request(  # noqa: S310 - the local fake
            f"{twilio.base_url}/2010-04-01/Accounts/{TWILIO_SID}/Messages/{sid}.json",
            headers={"Authorization": "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()},
        )
        with urllib.request.urlopen(request) as answer:  # noqa: S310
            fetched = json.loads(answer.read())
        fixture = json.loads(
            (fake_twilio.fixtures_dir() / "twilio/message_fetch_response_error_30007.json").read_text()
        )
        assert (fetched["sid"], fetched["status"]) == (sid, "undelivered")
        assert (fetched["error_code"], fetched["error_message"]) == (fixture["error_code"], fixture["error_message"])

    def test_21610_records_an_opt_out_and_the_next_sms_is_suppressed(self, client, care_shop, twilio, sent):
        message, sid = sent
        response, message = report(client, twilio, sid, "failed", error_code=21610)
        assert (message.status, message.reason, message.error_code) == ("failed", "opted_out", "21610")
        record = ConsentRecord.objects.get()
        assert (record.customer, record.channel, record.action) == (message.customer, "sms", "opted_out")
        assert (record.source, record.wording, record.message) == ("provider", "Twilio error 21610", message)
        message.customer.refresh_from_db()
        assert message.customer.sms_opted_out_at is not None

        second = second_shipped_order(care_shop, message.customer, number="#2")
        drain()
        assert (shipped_message(second).status, shipped_message(second).reason) == ("suppressed", "opted_out")
        assert twilio.count == 1, "only the first text was ever sent"

    @pytest.mark.parametrize("code", [21211, 21614, 21635])
    def test_a_number_that_cannot_take_texts_is_flagged_and_not_used_again(self, client, care_shop, twilio, sent, code):
        message, sid = sent
        response, message = report(client, twilio, sid, "failed", error_code=code)
        assert (message.status, message.reason, message.error_code) == ("failed", "invalid_address", str(code))
        customer = message.customer
        customer.refresh_from_db()
        assert (str(customer.phone), customer.phone_as_received) == ("", "+4915112345678")
        assert f"Twilio error {code}" in customer.phone_problem
        assert not ConsentRecord.objects.exists()

        second = second_shipped_order(care_shop, customer, number="#2")
        drain()
        planned = shipped_message(second)
        assert (planned.status, planned.reason) == ("suppressed", "invalid_address")
        assert twilio.count == 1, "only the first text was ever sent"


class TestSignedAccounts:
    def test_a_callback_signed_with_a_shops_own_account_token(self, client, care_shop, noon, settings):
        """The shop's SmsAccount (not the settings account) sent the text and signs its callbacks."""
        from journeys.providers.twilio import twilio_provider_for_account

        sid, token = "AC" + "2" * 32, "shop-own-token"
        account = SmsAccount.objects.create(
            shop=care_shop, label="Own", account_sid=sid, auth_token=token, from_number="+15005550006"
        )
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", ""
        order = shipped_order(care_shop)
        message = shipped_message(order)
        with FakeTwilio(auth=(sid, token)) as fake:
            account.base_url = fake.base_url
            provider = twilio_provider_for_account(account)
            result = provider.send(Envelope(message_id=message.pk, channel="sms", to="+4915112345678", body="Hi"))
            provider.close()
            Message.objects.filter(pk=message.pk).update(status="sent", provider_message_id=result.provider_message_id)
            response = twilio_post(client, fake.status_callback_request(result.provider_message_id, "delivered"))
        assert response.status_code == 200
        assert Message.objects.get(pk=message.pk).status == "delivered"


@pytest.mark.django_db(transaction=True)
def test_a_signed_callback_over_real_http_to_a_live_server(live_server, settings, shop):
    settings.PUBLIC_BASE_URL = live_server.url
    sid, token = "AC" + "3" * 32, "live-token"
    SmsAccount.objects.create(shop=shop, label="Live", account_sid=sid, auth_token=token, from_number="+15005550006")
    with FakeTwilio(auth=(sid, token)) as fake:
        request = fake.inbound_request(
            live_server.url + "/webhooks/twilio/inbound", from_="+14155550100", to="+15005550006", body="Hello?"
        )
        status, body = fake.post(request)
        # A signature one character off (never the real one, whatever its first character).
        forged = ("A" if request.signature[0] != "A" else "B") + request.signature[1:]
        forged_status, _ = fake.post(request._replace(signature=forged))
    assert status == 200
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Response/>')
    assert forged_status == 403
    assert InboundEvent.objects.filter(source="twilio", status="processed").count() == 1

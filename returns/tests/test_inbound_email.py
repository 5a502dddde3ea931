"""Customer emails through the Mailgun inbound webhook: verified, stored before anything else, filed on the case
of their order, and answered by email while the team is away (in the customer's language, on public holidays too)."""

import json

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from journeys.models import Message
from journeys.tests.twilio_posts import drain
from merchant.models import Customer, InboundEvent
from returns.models import Case, CaseEntry
from returns.tests.customer_messages import (
    ALPHA_KEY,
    BETA_KEY,
    CHRISTMAS_DAY,
    FRIDAY_NIGHT,
    WEDNESDAY_MORNING,
    berlin_shop_setup,
    customer_in,
    email_post,
    inbox_for,
    mailgun_fields,
)
from returns.tests.factories import delivered_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha(shop):
    berlin_shop_setup(shop)
    inbox_for(shop)
    return shop


@pytest.fixture
def klaus(alpha):
    return customer_in(alpha, first_name="Klaus", email="klaus@example.de", phone="", language="de")


def to_alpha(**fields):
    return mailgun_fields(sender="Klaus Berger <klaus@example.de>", recipient="support@alpha.example", **fields)


class TestAnswered:
    def test_an_email_on_a_public_holiday_gets_the_answer_by_email_in_german_for_a_german_customer(
        self, client, alpha, klaus
    ):
        # Given Klaus (German) has an order, and 25 December is a public holiday in Germany (a Friday)
        order = delivered_order(shop=alpha, customer=klaus, number="#1001")

        # When he emails the shop at 11:00 that day
        with time_machine.travel(CHRISTMAS_DAY, tick=False):
            response = email_post(client, alpha, to_alpha(subject="Paket #1001", text="Wo bleibt mein Paket?"))
            assert response.status_code == 200, response.content
            assert drain() == {"sent": 1}

        # Then it is on his order's case, and he got one email in German with the FAQ and when to expect an answer
        event = InboundEvent.objects.get()
        assert (event.shop, event.source, event.topic, event.status) == (
            alpha,
            "anymail",
            "inbound.mailgun",
            "processed",
        )
        case = Case.objects.get()
        assert (case.order, case.customer) == (order, klaus)
        message_entry = case.entries.get(kind="customer_message")
        assert (message_entry.channel, message_entry.body) == ("email", "Paket #1001\n\nWo bleibt mein Paket?")
        [sent] = mail.outbox
        assert sent.to == ["klaus@example.de"]
        assert sent.subject == "Ihre Nachricht ist angekommen – Alpha Shoes"
        assert "Hallo Klaus, danke für Ihre Nachricht an Alpha Shoes." in sent.body
        assert "Wir sind ab Montag 09:00 wieder erreichbar und antworten Ihnen bis Montag 13:00." in sent.body
        # an email carries the whole FAQ of his language
        assert "Wo ist mein Paket?\nNutzen Sie den Link zur Sendungsverfolgung." in sent.body
        assert "Wie sende ich etwas zurück?" in sent.body
        assert "Where is my parcel?" not in sent.body
        reply = case.entries.get(kind="auto_reply")
        assert (reply.channel, reply.message.channel) == ("email", "email")

    def test_a_language_without_faq_entries_falls_back_to_the_shops_default_language(self, client, alpha):
        customer_in(alpha, first_name="Ji-woo", email="jiwoo@example.kr", phone="", language="ko")
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            email_post(client, alpha, mailgun_fields(sender="jiwoo@example.kr", recipient="support@alpha.example"))
            drain()

        [sent] = mail.outbox
        assert "상담 재개: 월요일 09:00, 답변 예정: 월요일 13:00까지" in sent.body
        assert "Where is my parcel?" in sent.body  # the shop's default language (en): no Korean entries

    def test_a_new_address_becomes_a_customer_and_is_answered(self, client, alpha):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            email_post(
                client, alpha, mailgun_fields(sender="Mia Wong <mia@example.com>", recipient="support@alpha.example")
            )
            drain()

        mia = Customer.objects.get(shop=alpha, email="mia@example.com")
        assert (mia.first_name, mia.last_name) == ("Mia", "Wong")
        assert Case.objects.get().customer == mia
        assert [sent.to for sent in mail.outbox] == [["mia@example.com"]]

    def test_inside_business_hours_the_email_lands_in_the_queue_unanswered(self, client, alpha, klaus):
        with time_machine.travel(WEDNESDAY_MORNING, tick=False):
            email_post(client, alpha, to_alpha())
            drain()

        assert [entry.kind for entry in CaseEntry.objects.all()] == ["customer_message"]
        assert mail.outbox == []


class TestWhichOrder:
    def test_the_order_named_in_the_subject_gets_the_message_else_the_customers_latest(self, client, alpha, klaus):
        older = delivered_order(shop=alpha, customer=klaus, number="#1001", days_ago=30)
        latest = delivered_order(shop=alpha, customer=klaus, number="#1002", days_ago=2)
        someone_elses = delivered_order(shop=alpha, number="#1003")
        with time_machine.travel(WEDNESDAY_MORNING, tick=False):
            email_post(client, alpha, to_alpha(subject="About order #1001"))
            email_post(client, alpha, to_alpha(subject="Hello", text="no number here"))
            email_post(client, alpha, to_alpha(subject="Order #1003"))  # not his: never on that order's case

        assert Case.objects.get(order=older).entries.count() == 1
        assert Case.objects.get(order=latest).entries.count() == 2
        assert not Case.objects.filter(order=someone_elses).exists()


class TestNotAnswered:
    @pytest.mark.parametrize(
        "headers",
        [[["Auto-Submitted", "auto-replied"]], [["Precedence", "bulk"]], [["X-Autoreply", "yes"]]],
    )
    def test_automatic_mail_from_a_customer_lands_in_the_queue_but_is_never_answered(
        self, client, alpha, klaus, headers
    ):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            email_post(client, alpha, to_alpha(subject="Out of office", headers=headers))

        assert [entry.kind for entry in CaseEntry.objects.all()] == ["customer_message"]
        assert not Message.objects.filter(trigger="auto_reply").exists()

    def test_a_bounce_from_a_mail_daemon_is_kept_but_not_filed(self, client, alpha):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            email_post(
                client, alpha, mailgun_fields(sender="MAILER-DAEMON@mx.example", recipient="support@alpha.example")
            )

        assert InboundEvent.objects.get().status == "ignored"
        assert not Customer.objects.exists()
        assert not Case.objects.exists()

    def test_mail_mailgun_flags_as_spam_is_kept_but_not_filed(self, client, alpha, klaus):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            email_post(client, alpha, to_alpha(**{"X-Mailgun-Sflag": "Yes"}))

        assert InboundEvent.objects.get().status == "ignored"
        assert not Case.objects.exists()


class TestRefused:
    def test_a_bad_signature_is_refused_and_nothing_is_stored(self, client, alpha, klaus):
        fields = to_alpha()
        fields["signature"] = "0" * 64

        response = email_post(client, alpha, fields)

        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_signature"
        assert not InboundEvent.objects.exists()
        assert not Case.objects.exists()

    def test_a_post_signed_with_another_key_is_refused(self, client, alpha, klaus):
        response = email_post(client, alpha, to_alpha(key=BETA_KEY))

        assert response.status_code == 401
        assert not InboundEvent.objects.exists()

    @pytest.mark.parametrize("missing", ["sender", "recipient", "body-plain"])
    def test_a_signed_post_missing_a_field_is_refused_naming_it(self, client, alpha, klaus, missing):
        fields = to_alpha()
        del fields[missing]

        response = email_post(client, alpha, fields)

        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == [missing]
        assert not InboundEvent.objects.exists()

    def test_without_a_signing_key_inbound_email_is_off(self, client, shop):
        response = email_post(client, shop, to_alpha())

        assert response.status_code == 403
        assert not InboundEvent.objects.exists()

    def test_the_deployments_key_signs_for_a_shop_without_its_own(self, client, settings, shop):
        settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": ALPHA_KEY}
        berlin_shop_setup(shop)

        with time_machine.travel(WEDNESDAY_MORNING, tick=False):
            response = email_post(client, shop, to_alpha())

        assert (response.status_code, response.json()["status"]) == (200, "processed")

    def test_an_unknown_shop_is_not_found(self, client, alpha):
        response = client.post("/webhooks/email/inbound/nope", data=to_alpha())

        assert response.status_code == 404


class TestDeliveredTwice:
    def test_the_same_email_posted_again_is_stored_as_a_duplicate_and_filed_once(self, client, alpha, klaus):
        first = to_alpha(message_id="<same@mail.example>")
        again = to_alpha(message_id="<same@mail.example>")  # Mailgun's retry: new token, same Message-Id
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            assert email_post(client, alpha, first).json()["status"] == "processed"
            assert email_post(client, alpha, again).json()["status"] == "duplicate"

        assert CaseEntry.objects.filter(kind="customer_message").count() == 1
        assert Message.objects.filter(trigger="auto_reply").count() == 1


class TestTenancy:
    def test_a_shops_address_never_files_into_another_shops_queue(self, client, alpha, other_shop):
        # Given Klaus is a customer of both shops; beta has its own inbox and key
        beta = berlin_shop_setup(other_shop, number="+15005550007")
        inbox_for(beta, key=BETA_KEY)
        customer_in(alpha, email="klaus@example.de", phone="")
        customer_in(beta, email="klaus@example.de", phone="")

        # When he writes to beta's address, posted to beta's URL with beta's key
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            fields = mailgun_fields(sender="klaus@example.de", recipient="support@beta.example", key=BETA_KEY)
            assert email_post(client, beta, fields).status_code == 200
            # and a route sends beta's mail to alpha's URL by mistake, signed with a key alpha accepts
            stray = mailgun_fields(sender="klaus@example.de", recipient="support@beta.example", key=ALPHA_KEY)
            assert email_post(client, alpha, stray).status_code == 200

        # Then only beta's queue has it; alpha kept the stray post as ignored
        assert list(Case.objects.values_list("shop", flat=True)) == [beta.pk]
        assert list(Message.objects.filter(trigger="auto_reply").values_list("shop", flat=True)) == [beta.pk]
        stray_event = InboundEvent.objects.get(shop=alpha)
        assert stray_event.status == "ignored"
        assert "not to this shop's inbox support@alpha.example" in stray_event.error


class TestStored:
    def test_the_post_is_stored_as_it_arrived_and_attachments_are_named_but_not_kept(self, client, alpha, klaus):
        photo = SimpleUploadedFile("broken.jpg", b"\xff\xd8 not much of a photo", content_type="image/jpeg")
        with time_machine.travel(WEDNESDAY_MORNING, tick=False):
            email_post(client, alpha, {**to_alpha(text="Kaputt angekommen"), "attachment-1": photo})

        stored = json.loads(bytes(InboundEvent.objects.get().body))
        assert stored["stripped-text"] == "Kaputt angekommen"
        assert stored["attachments"] == [{"name": "broken.jpg", "size": 22, "content_type": "image/jpeg"}]
        assert CaseEntry.objects.get().body.endswith("[1 attachment(s) not kept: broken.jpg]")

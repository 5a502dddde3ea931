"""Every email carries List-Unsubscribe headers; the signed page they point to asks on GET and opts out on POST,
including a mail client's RFC 8058 one-click POST; a bad link is a friendly 404 that reveals nothing."""

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client

from journeys.models import CareRule, ConsentRecord, Message
from journeys.services.dispatch import Dispatcher
from journeys.services.unsubscribe import unsubscribe_url
from journeys.tests.factories import MessageFactory
from merchant.actors import Actor
from merchant.models import Customer
from merchant.services import orders
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
NOON_IN_BERLIN = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
SYSTEM = Actor.system("test")


def email_rules(shop) -> None:
    """Order care of `shop` by email only."""
    CareRule.objects.filter(shop=shop).update(channel="email", fallback_channel="")


def shipped_order(shop, customer, *, number="#1", tracking_url="https://t.example/track?n=1"):
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="EUR",
        actor=SYSTEM,
        customer=customer,
        lines=[orders.LineInput(title="Wool socks", quantity=2, unit_price=Decimal("9.95"))],
    )
    orders.order_mark_paid(order=order, actor=SYSTEM)
    orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url=tracking_url)
    return order


def berlin_customer(shop, **fields) -> Customer:
    values = {"first_name": "Anna", "email": "anna@example.de", "country": "DE", "time_zone": "Europe/Berlin"}
    return Customer.objects.create(shop=shop, **{**values, **fields})


def drain() -> dict[str, int]:
    with Dispatcher() as dispatcher:
        return dict(dispatcher.drain().tally)


def link_path(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def sent_email(shop):
    customer = CustomerFactory(shop=shop, email="kim@example.com", language="en")
    return MessageFactory(
        shop=shop, customer=customer, channel="email", address="kim@example.com", status="sent", language="en"
    )


class TestHeaders:
    def test_a_sent_email_carries_one_click_unsubscribe_headers_and_its_message_id_is_recorded(
        self, care_shop, noon, settings
    ):
        settings.JOURNEYS_UNSUBSCRIBE_MAILTO = "unsubscribe@care.example"
        email_rules(care_shop)
        order = shipped_order(care_shop, berlin_customer(care_shop))
        assert drain() == {"sent": 1}
        message = Message.objects.get(order=order, trigger="shipped")
        sent = mail.outbox[0].message()
        web, mailto = re.fullmatch(r"<(https://[^>]+)>, <(mailto:[^>]+)>", sent["List-Unsubscribe"]).groups()
        assert web.startswith("https://testserver/u/")
        assert mailto.startswith("mailto:unsubscribe@care.example?subject=unsubscribe%20")
        assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.provider_message_id == sent["Message-ID"], "the locmem backend is no ESP: our Message-ID"
        # The link in the header opens the page for this customer.
        page = Client().get(link_path(web))
        assert page.status_code == 200
        assert "anna@example.de" in page.content.decode()

    def test_without_an_unsubscribe_mailbox_the_header_names_only_the_page(self, sent_email, settings):
        from journeys.providers.base import Envelope
        from journeys.providers.email import DjangoEmailProvider

        settings.JOURNEYS_UNSUBSCRIBE_MAILTO = ""
        envelope = Envelope(message_id=sent_email.pk, channel="email", to="kim@example.com", body="Hi", subject="Hi")
        assert DjangoEmailProvider().send(envelope).outcome == "sent"
        header = mail.outbox[0].message()["List-Unsubscribe"]
        assert header == f"<{unsubscribe_url(message_id=sent_email.pk)}>"


class TestPage:
    def test_get_asks_and_changes_nothing(self, client, sent_email):
        response = client.get(link_path(unsubscribe_url(message_id=sent_email.pk)))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Unsubscribe kim@example.com from Alpha Shoes emails?" in page
        assert '<meta name="viewport"' in page
        assert 'method="post"' in page
        assert response["Cache-Control"].startswith("max-age=0")
        sent_email.customer.refresh_from_db()
        assert sent_email.customer.email_opted_out_at is None
        assert not ConsentRecord.objects.exists()

    @pytest.mark.parametrize(
        ("language", "question", "button"),
        [
            ("en", "Unsubscribe kim@example.com from Alpha Shoes emails?", "Unsubscribe"),
            ("de", "kim@example.com von den E-Mails von Alpha Shoes abmelden?", "Abmelden"),
            ("ru", "Отписать kim@example.com от писем Alpha Shoes?", "Отписаться"),
            ("ko", "kim@example.com 주소의 Alpha Shoes 이메일 수신을 거부하시겠습니까?", "수신 거부"),
            ("zh-hans", "将 kim@example.com 退订 Alpha Shoes 的邮件？", "退订"),
        ],
    )
    def test_the_page_speaks_the_language_the_email_was_sent_in(self, client, sent_email, language, question, button):
        Message.objects.filter(pk=sent_email.pk).update(language=language)
        response = client.get(link_path(unsubscribe_url(message_id=sent_email.pk)), HTTP_ACCEPT_LANGUAGE="en")
        page = response.content.decode()
        assert question in page
        assert f">{button}</button>" in page
        assert f'<html lang="{language}">' in page
        assert response["Content-Language"] == language
        assert not ConsentRecord.objects.exists()

    def test_the_button_opts_out_with_the_words_shown_as_evidence(self, client, sent_email):
        Message.objects.filter(pk=sent_email.pk).update(language="de")
        path = link_path(unsubscribe_url(message_id=sent_email.pk))
        response = client.post(path)
        # Post/redirect/get: reloading the confirmation does not post the form again.
        assert (response.status_code, response["Location"]) == (303, path)
        assert "Sie sind abgemeldet" in client.get(path).content.decode()
        record = ConsentRecord.objects.get()
        assert (record.customer, record.channel, record.action) == (sent_email.customer, "email", "opted_out")
        assert (record.source, record.wording, record.message) == ("unsubscribe_page", "Abmelden", sent_email)
        sent_email.customer.refresh_from_db()
        assert sent_email.customer.email_opted_out_at is not None
        # Coming back later shows the state without a button.
        again = client.get(link_path(unsubscribe_url(message_id=sent_email.pk))).content.decode()
        assert "Sie sind abgemeldet" in again
        assert "<form" not in again

    def test_a_mail_clients_one_click_post_needs_no_csrf_token(self, sent_email):
        mail_client = Client(enforce_csrf_checks=True)
        response = mail_client.post(
            link_path(unsubscribe_url(message_id=sent_email.pk)),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        record = ConsentRecord.objects.get()
        assert (record.source, record.wording) == ("list_unsubscribe", "List-Unsubscribe=One-Click")

    def test_only_the_customer_the_email_went_to_is_opted_out(self, client, sent_email, other_shop):
        same_address_elsewhere = CustomerFactory(shop=other_shop, email="kim@example.com")
        same_shop_other_person = CustomerFactory(shop=sent_email.shop, email="lee@example.com")
        client.post(link_path(unsubscribe_url(message_id=sent_email.pk)))
        opted_out = set(Customer.objects.filter(email_opted_out_at__isnull=False))
        assert opted_out == {sent_email.customer}
        assert same_address_elsewhere not in opted_out
        assert same_shop_other_person not in opted_out


class TestBadLinks:
    def not_found(self, client, path: str) -> None:
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 404
        page = response.content.decode()
        assert "Dieser Link funktioniert nicht" in page, "in the browser's language"
        assert "kim@example.com" not in page
        assert "Alpha Shoes" not in page

    def test_a_tampered_token_is_a_friendly_404_and_a_post_changes_nothing(self, client, sent_email):
        token = link_path(unsubscribe_url(message_id=sent_email.pk)).removeprefix("/u/")
        payload, rest = token.split(":", 1)
        forged = signing.b64_encode(b"%d" % (sent_email.pk + 1)).decode() + ":" + rest
        for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), forged, "nonsense"):
            self.not_found(client, f"/u/{bad}")
            assert client.post(f"/u/{bad}", "List-Unsubscribe=One-Click", content_type="text/plain").status_code == 404
        assert not ConsentRecord.objects.exists()

    def test_a_token_made_for_something_else_or_for_an_sms_does_not_open_the_page(self, client, sent_email):
        self.not_found(client, f"/u/{signing.dumps(sent_email.pk)}")  # no salt: e.g. a session value
        sms = MessageFactory(shop=sent_email.shop, customer=sent_email.customer, channel="sms", status="sent")
        self.not_found(client, link_path(unsubscribe_url(message_id=sms.pk)))

    def test_a_link_older_than_a_year_no_longer_works(self, client, sent_email):
        with time_machine.travel(NOON_IN_BERLIN, tick=False):
            path = link_path(unsubscribe_url(message_id=sent_email.pk))
        with time_machine.travel(NOON_IN_BERLIN + dt.timedelta(days=300), tick=False):
            assert client.get(path).status_code == 200
        with time_machine.travel(NOON_IN_BERLIN + dt.timedelta(days=366), tick=False):
            self.not_found(client, path)


def test_after_unsubscribing_the_next_email_is_suppressed_as_opted_out(care_shop, noon, client):
    email_rules(care_shop)
    customer = berlin_customer(care_shop, language="de")
    shipped_order(care_shop, customer, number="#1")
    assert drain() == {"sent": 1}
    queued = shipped_order(care_shop, customer, number="#2")  # planned while the customer still wanted email
    assert Message.objects.get(order=queued, trigger="shipped").status == "scheduled"

    web = re.search(r"<(https://[^>]+)>", mail.outbox[0].message()["List-Unsubscribe"]).group(1)
    assert client.post(link_path(web)).status_code == 303

    assert drain() == {"suppressed": 1}, "the dispatcher checks consent again just before sending"
    message = Message.objects.get(order=queued, trigger="shipped")
    assert (message.status, message.reason) == ("suppressed", "opted_out")
    later = shipped_order(care_shop, customer, number="#3")
    assert Message.objects.get(order=later, trigger="shipped").reason == "opted_out", "and the planner too"
    assert drain() == {}
    assert len(mail.outbox) == 1, "nothing more was sent"

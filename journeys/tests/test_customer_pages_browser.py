"""The customer pages that links in messages open, on a phone, in headless Chromium (merchant/tests/browser.py).

A real order-care email goes out through the dispatcher with the product's links pointing at the
live server; the phone opens its unsubscribe link and taps its tracked link as a customer would,
and the tests read what the page shows: the words and their language, the button, whether the
page fits the screen without sideways scrolling. A bad link gets the friendly 404 page, which
tells nothing about whether anything exists.
"""

import re
from decimal import Decimal
from email.message import Message as MimeMessage

import pytest
from django.core import mail
from django.core.signing import b64_encode
from playwright.sync_api import expect

from journeys.models import CareRule, ConsentRecord, Message, TrackedLink
from journeys.services.dispatch import Dispatcher
from journeys.services.unsubscribe import unsubscribe_url
from journeys.tests.factories import MessageFactory
from merchant.actors import Actor
from merchant.models import Customer, Merchant
from merchant.services import orders
from merchant.tests.factories import CustomerFactory

SYSTEM = Actor.system("test")
MIN_TAP_TARGET = 44  # CSS pixels: Apple's and Google's smallest comfortable touch target


def assert_fits_the_phone(page) -> None:
    """Laid out at the phone's width (the viewport meta is honoured) and nothing scrolls sideways."""
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    assert sizes["client"] == page.viewport_size["width"], f"not laid out for the phone: {sizes}"
    assert sizes["scroll"] <= sizes["client"], f"the page scrolls sideways: {sizes}"


def email_sent(shop: Merchant, customer: Customer, *, tracking_url: str) -> tuple[Message, MimeMessage]:
    """Ship an order of `customer`; the dispatcher sends the shop's "shipped" email at once."""
    CareRule.objects.filter(shop=shop).update(channel="email", fallback_channel="", send_any_hour=True)
    order = orders.order_create(
        shop=shop,
        number="#1001",
        currency="EUR",
        actor=SYSTEM,
        customer=customer,
        lines=[orders.LineInput(title="Wool socks", quantity=2, unit_price=Decimal("9.95"))],
    )
    orders.order_mark_paid(order=order, actor=SYSTEM)
    orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url=tracking_url)
    with Dispatcher() as dispatcher:
        assert dict(dispatcher.drain().tally) == {"sent": 1}
    return Message.objects.get(order=order, trigger="shipped"), mail.outbox[-1].message()


def html_body(email: MimeMessage) -> str:
    (html,) = [part for part in email.walk() if part.get_content_type() == "text/html"]
    return html.get_payload(decode=True).decode(html.get_content_charset())


@pytest.fixture
def shop_with_contact(care_shop):
    care_shop.contact_email = "help@alpha.example"
    care_shop.save(update_fields=["contact_email"])
    return care_shop


@pytest.fixture
def anna(shop_with_contact):
    """A customer in Germany who reads German."""
    return Customer.objects.create(
        shop=shop_with_contact, first_name="Anna", email="anna@example.de", country="DE", language="de"
    )


class TestUnsubscribe:
    def test_from_the_link_in_a_real_email_a_german_customer_unsubscribes_on_her_phone(
        self, phone_page, shop_with_contact, anna, live_server
    ):
        message, email = email_sent(shop_with_contact, anna, tracking_url="https://t.example/track?n=1")
        link = re.fullmatch(r"<([^>]+)>", email["List-Unsubscribe"].strip()).group(1)
        assert link.startswith(f"{live_server.url}/u/"), "the product's link, pointing at the live server"
        page = phone_page  # set to English: the page speaks the language the email was written in

        response = page.goto(link)
        assert response.status == 200
        assert response.headers["content-language"] == "de"
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page).to_have_title("Von E-Mails abmelden · Alpha Shoes")
        expect(page.locator(".shop")).to_have_text("Alpha Shoes")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "anna@example.de von den E-Mails von Alpha Shoes abmelden?"
        )
        expect(page.get_by_text("Sie erhalten dann keine E-Mails mehr von Alpha Shoes")).to_be_visible()
        button = page.get_by_role("button", name="Abmelden", exact=True)
        expect(button).to_be_visible()
        expect(button).to_be_enabled()
        tap_target = button.bounding_box()
        assert tap_target["height"] >= MIN_TAP_TARGET, tap_target
        assert tap_target["width"] >= page.viewport_size["width"] / 2, "a wide button, easy to hit with a thumb"
        assert_fits_the_phone(page)
        anna.refresh_from_db()
        assert anna.email_opted_out_at is None, "opening the page changes nothing"
        assert not ConsentRecord.objects.exists()

        with page.expect_navigation() as posted:
            button.tap()
        # Post/redirect/get: the form is posted once, and the confirmation is a page of its own.
        assert posted.value.status == 200
        assert posted.value.request.method == "GET"
        assert posted.value.request.redirected_from.method == "POST"
        expect(page.get_by_role("heading", level=1)).to_have_text("Sie sind abgemeldet")
        expect(page.get_by_text("anna@example.de erhält keine E-Mails mehr von Alpha Shoes.")).to_be_visible()
        expect(page.get_by_text("Versehentlich abgemeldet? Schreiben Sie an help@alpha.example.")).to_be_visible()
        expect(page.get_by_role("link", name="help@alpha.example")).to_have_attribute(
            "href", "mailto:help@alpha.example"
        )
        expect(page.get_by_role("button")).to_have_count(0)
        assert_fits_the_phone(page)

        anna.refresh_from_db()
        assert anna.email_opted_out_at is not None
        record = ConsentRecord.objects.get()
        assert (record.customer, record.channel, record.action) == (anna, "email", "opted_out")
        assert (record.source, record.wording, record.message) == ("unsubscribe_page", "Abmelden", message)
        assert record.actor == "anna@example.de"

        # Days later the customer opens the same link again: the page says so, and asks nothing.
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Sie sind abgemeldet")
        expect(page.get_by_role("button")).to_have_count(0)
        assert ConsentRecord.objects.count() == 1

    @pytest.mark.parametrize(
        ("language", "question", "button", "done"),
        [
            ("en", "from Lindqvist & Daughters Handmade Ceramics emails?", "Unsubscribe", "You are unsubscribed"),
            ("ru", "от писем Lindqvist & Daughters Handmade Ceramics?", "Отписаться", "Вы отписались"),
            (
                "ko",
                "Lindqvist & Daughters Handmade Ceramics 이메일 수신을 거부하시겠습니까?",
                "수신 거부",
                "수신 거부되었습니다",
            ),
            ("zh-hans", "退订 Lindqvist & Daughters Handmade Ceramics 的邮件？", "退订", "您已退订"),
        ],
        ids=["en", "ru", "ko", "zh-hans"],
    )
    def test_a_long_address_and_shop_name_fit_a_phone_in_every_language(
        self, phone_page, shop, language, question, button, done
    ):
        shop.name = "Lindqvist & Daughters Handmade Ceramics"
        shop.save(update_fields=["name"])
        address = "maria-katharina.mueller-luedenscheidt.newsletter-2026@kundenservice.example-mail.de"
        customer = CustomerFactory(shop=shop, email=address, language=language)
        message = MessageFactory(
            shop=shop, customer=customer, channel="email", address=address, status="sent", language=language
        )
        page = phone_page
        page.goto(unsubscribe_url(message_id=message.pk))
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_contain_text(address)
        expect(heading).to_contain_text(question)
        assert_fits_the_phone(page)
        page.get_by_role("button", name=button, exact=True).tap()
        expect(heading).to_have_text(done)
        expect(page.get_by_role("button")).to_have_count(0)
        expect(page.get_by_text(address)).to_be_visible()
        assert_fits_the_phone(page)
        customer.refresh_from_db()
        assert customer.email_opted_out_at is not None


class TestTrackedLink:
    def test_tapping_the_link_in_the_email_opens_its_target_and_counts_the_click(
        self, phone_page, shop_with_contact, anna, live_server
    ):
        target = f"{live_server.url}/health?parcel=JJD000390007654321123"
        message, email = email_sent(shop_with_contact, anna, tracking_url=target)
        link = TrackedLink.objects.get(message=message, url=target)  # the email's other link: the status page
        assert (link.url, link.clicks, message.clicked_at) == (target, 0, None)
        page = phone_page
        page.set_content(html_body(email))  # the email as the phone's mail app shows it
        button = page.get_by_role("link", name="Sendung verfolgen")
        expect(button).to_have_attribute("href", f"{live_server.url}/l/{link.token}")

        with page.expect_navigation() as opened:
            button.tap()
        assert page.url == target, "the browser ends on the target, query string and all"
        assert opened.value.status == 200
        expect(page.locator("body")).to_have_text("ok")
        redirect = opened.value.request.redirected_from
        assert redirect.url == f"{live_server.url}/l/{link.token}"
        assert redirect.response().status == 302

        link.refresh_from_db()
        message.refresh_from_db()
        assert link.clicks == 1
        assert link.first_clicked_at is not None
        assert message.clicked_at == link.first_clicked_at


class TestBadLinks:
    def assert_friendly_not_found(self, page, path: str) -> str:
        response = page.goto(path)
        assert response.status == 404
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page).to_have_title("Dieser Link funktioniert nicht")
        expect(page.get_by_role("heading", level=1)).to_have_text("Dieser Link funktioniert nicht")
        expect(page.get_by_text("Bitte verwenden Sie den Link aus der neuesten Nachricht des Shops")).to_be_visible()
        expect(page.get_by_role("button")).to_have_count(0)
        assert_fits_the_phone(page)
        return page.locator("body").inner_text()

    def test_a_tampered_or_unknown_link_shows_the_same_friendly_page_in_the_phones_language(
        self, phone_page_make, shop_with_contact, anna, live_server
    ):
        message, _email = email_sent(shop_with_contact, anna, tracking_url="https://t.example/track?n=1")
        link = TrackedLink.objects.get(message=message, url="https://t.example/track?n=1")
        token = unsubscribe_url(message_id=message.pk).removeprefix(f"{live_server.url}/u/")
        _payload, signature = token.split(":", 1)
        page = phone_page_make(locale="de-DE")

        texts = {
            self.assert_friendly_not_found(page, path)
            for path in (
                f"/u/{token[:-1]}{'B' if token[-1] == 'A' else 'A'}",  # a character lost or changed
                f"/u/{b64_encode(b'%d' % (message.pk + 1)).decode()}:{signature}",  # another message's id
                "/u/nonsense",
                f"/l/{link.token[:-1]}",
                "/l/AAAAAAAAAAA",
            )
        }
        assert len(texts) == 1, "a bad link to something that exists looks like one to nothing"
        (text,) = texts
        for secret in ("Alpha Shoes", "Anna", "anna@example.de", "help@alpha.example", "t.example"):
            assert secret not in text
        assert not ConsentRecord.objects.exists()
        assert set(TrackedLink.objects.values_list("clicks", flat=True)) == {0}

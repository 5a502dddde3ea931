"""The return portal on a phone, in headless Chromium (merchant/tests/browser.py), from the delivered email.

An order is delivered; the dispatcher sends the delivered email with the console backend; the phone
opens it, the customer taps "Start a return here", lands on the portal, chooses one of two pairs of
shoes, the reason "Too small", writes a word and adds a photo, and sends: the return's page shows it
received; the list of returns offers to cancel it, and cancelling works. Screenshots of the form and
the confirmation are kept in docs/screenshots/ (UPDATE_SCREENSHOTS=1).
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import expect

from journeys.models import CareRule
from journeys.services.dispatch import Dispatcher
from journeys.services.rules import care_rules_default_create
from journeys.tests.test_customer_pages_browser import MIN_TAP_TARGET, assert_fits_the_phone, html_body
from merchant.actors import Actor
from merchant.services import orders
from merchant.tests.factories import CustomerFactory
from returns.models import ReturnPolicy, ReturnRequest
from returns.services.policy import returns_setup_for_shop

SYSTEM = Actor.system("test")


@pytest.fixture
def phone_photo(tmp_path) -> Path:
    path = tmp_path / "IMG_3301.jpg"
    Image.new("RGB", (1200, 900), (160, 90, 60)).save(path, "JPEG")
    return path


def test_a_customer_returns_one_item_from_the_delivered_email_on_a_phone(phone_page, shop, phone_photo, screenshots):
    care_rules_default_create(shop)
    returns_setup_for_shop(shop)
    ReturnPolicy.objects.filter(shop=shop).update(
        restocking_fee_percent=Decimal("10"), return_instructions="Send the parcel to Alpha Shoes, 1 Harbour Road."
    )
    CareRule.objects.filter(shop=shop).update(channel="email", fallback_channel="", send_any_hour=True)
    CareRule.objects.filter(shop=shop, trigger="delivered").update(is_active=True, delay_amount=0)
    customer = CustomerFactory(shop=shop, first_name="Mia", email="mia@example.com", language="en")
    order = orders.order_create(
        shop=shop,
        number="#1001",
        currency="USD",
        actor=SYSTEM,
        customer=customer,
        lines=[
            orders.LineInput(title="Trail running shoes", quantity=2, unit_price=Decimal("89.00")),
            orders.LineInput(title="Wool socks", quantity=1, unit_price=Decimal("12.00")),
        ],
    )
    orders.order_mark_paid(order=order, actor=SYSTEM)
    orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url="https://dhl.example/t/1")
    orders.order_mark_delivered(order=order, actor=SYSTEM)
    with Dispatcher() as dispatcher:
        assert dict(dispatcher.drain().tally).get("sent") == 1
    (email,) = mail.outbox
    page = phone_page
    page.set_content(html_body(email.message()))

    link = page.get_by_role("link", name="Start a return here")
    with page.expect_navigation() as opened:
        link.tap()
    assert opened.value.status == 200
    assert re.search(r"/returns/[^/]+$", page.url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Return items from order #1001")
    assert not ReturnRequest.objects.exists(), "opening the page stores nothing"
    assert_fits_the_phone(page)

    shoes = page.get_by_label("Trail running shoes")
    box = shoes.bounding_box()
    assert box["height"] >= MIN_TAP_TARGET, box
    shoes.select_option("1")
    too_small = page.get_by_role("radio", name="Too small")
    too_small.tap()
    expect(too_small).to_be_checked()
    page.get_by_label("Anything we should know?").fill("Lovely, but half a size too small.")
    page.get_by_label("Photos").set_input_files(phone_photo)
    page.screenshot(path=screenshots / "return-portal-form.png", full_page=True)

    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Request the return").tap()
    assert sent.value.status == 200
    request = ReturnRequest.objects.get()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Return {request.number}")
    expect(page.get_by_text("Thank you, we received your request.")).to_be_visible()
    expect(page.get_by_text("1 × Trail running shoes")).to_be_visible()
    expect(page.get_by_text("80.10 USD")).to_be_visible()  # 89.00 less the 10% restocking fee for a size
    assert (request.lines.get().quantity, request.photos.count(), request.reason) == (1, 1, "too_small")
    assert_fits_the_phone(page)
    page.screenshot(path=screenshots / "return-portal-confirmation.png", full_page=True)

    page.get_by_role("link", name="All returns of this order").tap()
    cancel = page.get_by_role("button", name=f"Cancel return {request.number}")
    expect(cancel).to_be_visible()
    page.screenshot(path=screenshots / "return-portal-status.png", full_page=True)
    with page.expect_navigation():
        cancel.tap()
    expect(page.get_by_text("Cancelled.")).to_be_visible()
    request.refresh_from_db()
    assert request.status == ReturnRequest.Status.CANCELLED

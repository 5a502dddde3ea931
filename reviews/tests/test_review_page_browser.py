"""The review page on a phone, in headless Chromium (merchant/tests/browser.py), from a real review request.

An order is delivered a week ago; the dispatcher sends the review request email with the console
email backend; the phone shows the email, the customer taps the fourth star in it, lands on the
review page with four stars chosen, changes it to five, writes a few words, adds a photo from the
phone (carrying its GPS position), answers the NPS question and sends: the thank-you page shows the
shop's coupon. Screenshots of both pages are kept in docs/screenshots/.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from journeys.models import CareRule, Message
from journeys.tests.test_customer_pages_browser import MIN_TAP_TARGET, assert_fits_the_phone, html_body
from reviews.models import NpsResponse, Review, ReviewPolicy
from reviews.tests.factories import delivered_order, drain


@pytest.fixture
def phone_photo(tmp_path, jpeg) -> Path:
    path = tmp_path / "IMG_2041.jpg"
    path.write_bytes(jpeg("IMG_2041.jpg", size=(1200, 900), color=(180, 120, 60)).read())
    return path


def test_from_the_email_a_customer_reviews_with_a_photo_on_a_phone_and_gets_the_coupon(
    phone_page, review_shop, customer, products, phone_photo, live_server, screenshots
):
    ReviewPolicy.objects.filter(shop=review_shop).update(
        coupon_code="THANKYOU-7F3KQ9", coupon_description="10% off your next order"
    )
    # Sent at once whatever the hour the test runs (the send window has its own tests).
    CareRule.objects.filter(shop=review_shop, message_class="transactional").update(
        send_any_hour=True, fallback_channel=""
    )
    order = delivered_order(
        review_shop, customer, [products["socks"]], at=timezone.now().replace(microsecond=0) - dt.timedelta(days=7)
    )
    assert drain() == {"sent": 1}
    message = Message.objects.get(order=order, trigger="review_request")
    assert message.status == "sent"
    (email,) = mail.outbox
    page = phone_page
    page.set_content(html_body(email.message()))  # the email as the phone's mail app shows it

    # The fourth star of the email: a tracked link that leads to the page with four stars chosen.
    star = page.get_by_title("4 stars")
    assert re.fullmatch(rf"{live_server.url}/l/[\w-]+", star.get_attribute("href"))
    with page.expect_navigation() as opened:
        star.tap()
    assert opened.value.status == 200
    assert re.search(r"/r/[^/?]+\?stars=4$", page.url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("How do you like your order #1001?")
    expect(page.get_by_role("heading", level=2)).to_have_text("Wool socks")
    expect(page.get_by_role("radio", name="4 stars")).to_be_checked()
    assert not Review.objects.exists(), "opening the page stores nothing"
    expect(
        page.get_by_text("A thank-you for every honest review, good or bad: 10% off your next order")
    ).to_be_visible()
    assert_fits_the_phone(page)

    five = page.get_by_role("radio", name="5 stars")
    box = five.bounding_box()
    assert box["height"] >= MIN_TAP_TARGET, box
    assert box["width"] >= MIN_TAP_TARGET, box
    five.tap()
    expect(five).to_be_checked()
    page.get_by_label("Title").fill("Warm and soft")
    page.get_by_label("Your review").fill("Wore them on a winter hike: warm, no blisters, still like new.")
    page.get_by_label("Photos").set_input_files(phone_photo)
    page.get_by_role("radio", name="9", exact=True).tap()
    page.get_by_label("What is the main reason for your score?").fill("Quick delivery and friendly help.")
    page.screenshot(path=screenshots / "review-page-phone.png", full_page=True)

    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Send review").tap()
    # Post/redirect/get: the form is posted once, and the thank-you page is a page of its own.
    assert sent.value.status == 200
    assert sent.value.request.method == "GET"
    assert sent.value.request.redirected_from.method == "POST"
    assert page.url.endswith("/thanks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your review!")
    expect(page.get_by_text("THANKYOU-7F3KQ9")).to_be_visible()
    expect(page.get_by_text("Every honest review gets this coupon, whatever its rating")).to_be_visible()
    expect(page.get_by_role("link", name="Change your review")).to_be_visible()
    assert_fits_the_phone(page)
    page.screenshot(path=screenshots / "review-thanks-phone.png", full_page=True)

    review = Review.objects.get()
    assert (review.rating, review.title, review.status) == (5, "Warm and soft", "published")
    assert (review.incentivized, review.incentive_note) == (True, "10% off your next order")
    photo = review.media.get()
    assert (photo.kind, photo.original_name, photo.width, photo.height) == ("photo", "IMG_2041.jpg", 900, 1200)
    with photo.file.open("rb") as handle, Image.open(handle) as image:
        assert len(image.getexif()) == 0, "no EXIF, no GPS position left"
    assert NpsResponse.objects.get().score == 9

    # Back on the page: the review is there to change, with its photo shown from the shop's server.
    page.get_by_role("link", name="Change your review").tap()
    expect(page.get_by_role("radio", name="5 stars")).to_be_checked()
    expect(page.get_by_role("button", name="Save changes")).to_be_visible()
    shown = page.get_by_role("img", name="Your photo")
    expect(shown).to_be_visible()
    handle = shown.element_handle()
    page.wait_for_function("(image) => image.complete && image.naturalWidth > 0", arg=handle)
    assert page.evaluate("(image) => image.naturalWidth", handle) == 900

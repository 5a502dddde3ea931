"""The order status page on a phone, in headless Chromium (merchant/tests/browser.py), for an order on its way.

The customer opens the link their shipped message carries: the page says where the order is (the steps with
times in their zone, the parcel with its carrier, tracking number and the carrier's tracking link, when to
expect it, the items) and fits the phone. Showing the page sends its beacon, which counts one visit; reloading
at once counts nothing more. A German customer gets the same page in German. Screenshots are kept in
docs/screenshots/order-status.png and order-status-de.png (UPDATE_SCREENSHOTS=1).
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import OrderStatusVisit
from journeys.status.links import order_status_url
from journeys.tests.test_customer_pages_browser import MIN_TAP_TARGET, assert_fits_the_phone
from merchant.actors import Actor
from merchant.models import Customer
from merchant.services import orders

SYSTEM = Actor.system("test")
CARRIER = Actor.webhook("carrier")


def order_on_its_way(shop, customer: Customer, *, number: str):
    """Placed three days ago, paid, shipped yesterday with DHL; the shop's earlier DHL parcels took 3 days."""
    now = timezone.now()
    for index in range(5):
        earlier = orders.order_create(
            shop=shop, number=f"#90{index}", currency="EUR", actor=SYSTEM, customer=customer,
            placed_at=now - dt.timedelta(days=30),
        )  # fmt: skip
        orders.order_mark_paid(order=earlier, actor=SYSTEM, occurred_at=now - dt.timedelta(days=30))
        orders.order_mark_shipped(order=earlier, actor=SYSTEM, occurred_at=now - dt.timedelta(days=29), carrier="DHL")
        orders.shipment_record_carrier_update(
            shipment=earlier.shipments.get(), status="delivered", actor=CARRIER,
            occurred_at=now - dt.timedelta(days=26, hours=index),
        )  # fmt: skip
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="EUR",
        actor=SYSTEM,
        customer=customer,
        placed_at=now - dt.timedelta(days=3),
        ship_by=now - dt.timedelta(days=1),
        lines=[
            orders.LineInput(title="Trail running shoes", quantity=1, unit_price=Decimal("89.00")),
            orders.LineInput(title="Merino wool socks (3 pairs)", quantity=2, unit_price=Decimal("19.50")),
        ],
    )
    orders.order_mark_paid(order=order, actor=SYSTEM, occurred_at=now - dt.timedelta(days=3) + dt.timedelta(minutes=4))
    orders.order_mark_shipped(
        order=order,
        actor=SYSTEM,
        occurred_at=now - dt.timedelta(days=1, hours=2),
        carrier="DHL",
        tracking_number="JJD000390007654321",
        tracking_url="https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=JJD000390007654321",
    )
    orders.shipment_record_carrier_update(
        shipment=order.shipments.get(), status="in_transit", actor=CARRIER, occurred_at=now - dt.timedelta(hours=5)
    )
    return order


def test_a_customer_sees_where_their_parcel_is_on_a_phone(phone_page, shop, live_server, screenshots):
    shop.contact_email = "help@alpha.example"
    shop.contact_phone = "+12125550199"
    shop.save(update_fields=["contact_email", "contact_phone"])
    mia = Customer.objects.create(
        shop=shop, first_name="Mia", email="mia@example.com", country="US", language="en", time_zone="America/New_York"
    )
    order = order_on_its_way(shop, mia, number="#1042")
    page = phone_page

    with page.expect_response("**/seen") as beacon:
        response = page.goto(order_status_url(order_id=order.pk, shop_id=shop.pk))
    assert response.status == 200
    assert beacon.value.status == 204

    expect(page.get_by_role("heading", level=1)).to_have_text("Order #1042")
    expect(page.get_by_text("Your order is on its way")).to_be_visible()
    expect(page.locator(".expected strong")).to_contain_text("Expected by")
    expect(page.locator("ol.steps li")).to_have_count(5)
    expect(page.locator("ol.steps li[aria-current=step] .label")).to_have_text("Shipped")
    expect(page.locator(".parcel .latest")).to_contain_text("In transit")
    expect(page.locator(".parcel")).to_contain_text("DHL")
    expect(page.locator(".tracking-number")).to_have_text("JJD000390007654321")
    track = page.get_by_role("link", name="Track with the carrier")
    expect(track).to_have_attribute(
        "href", "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=JJD000390007654321"
    )
    assert track.bounding_box()["height"] >= MIN_TAP_TARGET
    expect(page.locator("ul.items li")).to_have_count(2)
    expect(page.locator("ul.items")).to_contain_text("Merino wool socks (3 pairs)")
    contact = page.get_by_role("link", name="Contact us")
    expect(contact).to_have_attribute("href", "mailto:help@alpha.example?subject=Order%20%231042")
    assert contact.bounding_box()["height"] >= MIN_TAP_TARGET
    assert_fits_the_phone(page)
    page.screenshot(path=str(screenshots / "order-status.png"), full_page=True)

    assert OrderStatusVisit.objects.filter(order=order).count() == 1
    with page.expect_response("**/seen") as again:
        page.reload()
    assert again.value.status == 204
    assert OrderStatusVisit.objects.filter(order=order).count() == 1, "a reload is the same visit"


def test_a_german_customer_reads_it_in_german(phone_page, shop, live_server, screenshots):
    shop.contact_email = "help@alpha.example"
    shop.save(update_fields=["contact_email"])
    anna = Customer.objects.create(
        shop=shop, first_name="Anna", email="anna@example.de", country="DE", language="de", time_zone="Europe/Berlin"
    )
    order = order_on_its_way(shop, anna, number="#1043")
    page = phone_page  # the phone is set to English: the page speaks the customer's language

    page.goto(order_status_url(order_id=order.pk, shop_id=shop.pk))

    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bestellung #1043")
    expect(page.get_by_text("Ihre Bestellung ist unterwegs")).to_be_visible()
    expect(page.locator(".expected strong")).to_contain_text("Voraussichtlich bis")
    expect(page.get_by_role("link", name="Beim Versanddienstleister verfolgen")).to_be_visible()
    expect(page.locator("ol.steps li[aria-current=step] .label")).to_have_text("Versandt")
    assert_fits_the_phone(page)
    page.screenshot(path=str(screenshots / "order-status-de.png"), full_page=True)

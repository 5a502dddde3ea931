"""The order status page (/o/<token>): only the order its token names, where it stands, in the customer's
language and time zone; a friendly page for a bad or expired link; a GET that changes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from journeys.models import OrderStatusVisit
from journeys.status.links import LINK_VALID_DAYS, order_status_token, order_status_url
from merchant.actors import Actor
from merchant.models import Shipment
from merchant.services import orders
from merchant.tests.factories import CustomerFactory

SYSTEM = Actor.system("test")
CARRIER = Actor.webhook("carrier")
# 3 March 2026, 15:00 UTC = 10:00 in New York (the customer), 16:00 in Berlin.
PLACED = dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    cache.clear()  # the typical transit time is cached per shop and carrier
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mia(shop):
    shop.contact_email = "help@alpha.example"
    shop.save(update_fields=["contact_email"])
    return CustomerFactory(shop=shop, first_name="Mia", language="en", time_zone="America/New_York")


def placed_order(shop, customer, *, number="#1001", placed_at=PLACED):
    return orders.order_create(
        shop=shop,
        number=number,
        currency="USD",
        actor=SYSTEM,
        customer=customer,
        placed_at=placed_at,
        ship_by=placed_at + dt.timedelta(days=3),
        lines=[
            orders.LineInput(title="Trail running shoes", quantity=2, unit_price=Decimal("89.00")),
            orders.LineInput(title="Wool socks", quantity=1, unit_price=Decimal("12.00")),
        ],
    )


def shipped_order(shop, customer, *, number="#1001"):
    order = placed_order(shop, customer, number=number)
    orders.order_mark_paid(order=order, actor=SYSTEM, occurred_at=PLACED + dt.timedelta(minutes=5))
    return orders.order_mark_shipped(
        order=order,
        actor=SYSTEM,
        occurred_at=dt.datetime(2026, 3, 2, 13, 30, tzinfo=dt.UTC),
        carrier="DHL",
        tracking_number="JJD0001",
        tracking_url="https://dhl.example/track?n=JJD0001",
    )


def delivered_order(shop, customer, *, number="#1001"):
    order = shipped_order(shop, customer, number=number)
    parcel = order.shipments.get()
    orders.shipment_record_carrier_update(
        shipment=parcel,
        status="out_for_delivery",
        actor=CARRIER,
        occurred_at=dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC),
    )
    orders.shipment_record_carrier_update(
        shipment=parcel, status="delivered", actor=CARRIER, occurred_at=dt.datetime(2026, 3, 3, 14, 10, tzinfo=dt.UTC)
    )
    order.refresh_from_db()
    return order


def status_path(order) -> str:
    return reverse("order-status", args=[order_status_token(order_id=order.pk, shop_id=order.shop_id)])


def page_text(response) -> str:
    return response.content.decode()


class TestWhatTheCustomerSees:
    def test_a_shipped_order_shows_its_steps_in_the_customers_zone_its_parcel_and_items(self, client, shop, mia):
        order = shipped_order(shop, mia)

        response = client.get(status_path(order))

        assert response.status_code == 200
        assert response["Content-Language"] == "en"
        page = page_text(response)
        assert "Order #1001" in page
        assert "Your order is on its way" in page
        # New York is UTC-5 in early March: placed 09:00, paid 09:05, shipped 08:30 the next day.
        steps = response.context["page"].steps
        assert [(step.key, step.state) for step in steps] == [
            ("placed", "done"),
            ("paid", "done"),
            ("shipped", "current"),
            ("out_for_delivery", "next"),
            ("delivered", "next"),
        ]
        assert "March 1, 9 a.m." in page
        assert "March 1, 9:05 a.m." in page
        assert "March 2, 8:30 a.m." in page
        assert "DHL" in page
        assert "JJD0001" in page
        assert 'href="https://dhl.example/track?n=JJD0001"' in page
        assert "In transit" in page
        assert '<span>Trail running shoes</span><span class="quantity">× 2</span>' in page
        assert '<span>Wool socks</span><span class="quantity">× 1</span>' in page
        assert "help@alpha.example" in page

    def test_before_shipping_the_page_shows_the_ship_by_promise(self, client, shop, mia):
        order = placed_order(shop, mia)
        orders.order_mark_paid(order=order, actor=SYSTEM, occurred_at=PLACED + dt.timedelta(minutes=5))

        response = client.get(status_path(order))

        page = page_text(response)
        assert "Paid: we are preparing your order" in page
        assert "Ships by March 4" in page  # 4 March 14:00 UTC is 09:00 in New York
        assert "Tracking number" not in page

    def test_a_parcel_on_its_way_gets_an_estimate_from_the_shops_usual_transit_time(self, client, shop, mia):
        # Five earlier DHL parcels of the shop took 2, 2, 3, 3 and 4 days: the median is 3 days.
        for index, days in enumerate((2, 2, 3, 3, 4)):
            earlier = placed_order(shop, mia, number=f"#90{index}", placed_at=PLACED - dt.timedelta(days=21))
            orders.order_mark_paid(order=earlier, actor=SYSTEM, occurred_at=PLACED - dt.timedelta(days=20))
            shipped_at = PLACED - dt.timedelta(days=19)
            orders.order_mark_shipped(order=earlier, actor=SYSTEM, occurred_at=shipped_at, carrier="DHL")
            orders.shipment_record_carrier_update(
                shipment=earlier.shipments.get(),
                status="delivered",
                actor=CARRIER,
                occurred_at=shipped_at + dt.timedelta(days=days),
            )
        order = shipped_order(shop, mia)  # shipped 2 March (New York)

        page = page_text(client.get(status_path(order)))

        assert "Expected by March 5" in page
        assert "An estimate" in page

    def test_without_enough_deliveries_to_go_by_no_date_is_promised(self, client, shop, mia):
        order = shipped_order(shop, mia)
        response = client.get(status_path(order))
        assert response.context["page"].expected is None
        assert "Expected by" not in page_text(response)

    def test_a_parcel_out_for_delivery_is_expected_today(self, client, shop, mia):
        order = shipped_order(shop, mia)
        orders.shipment_record_carrier_update(
            shipment=order.shipments.get(), status="out_for_delivery", actor=CARRIER, occurred_at=NOW
        )
        page = page_text(client.get(status_path(order)))
        assert "Arriving today" in page
        assert "Out for delivery" in page

    def test_a_delivered_order_shows_every_step_done_and_offers_a_return(self, client, shop, mia):
        order = delivered_order(shop, mia)

        response = client.get(status_path(order))

        steps = response.context["page"].steps
        assert [(step.key, step.state) for step in steps] == [
            ("placed", "done"),
            ("paid", "done"),
            ("shipped", "done"),
            ("out_for_delivery", "done"),
            ("delivered", "current"),
        ]
        page = page_text(response)
        assert "March 3, 7 a.m." in page, "out for delivery at 12:00 UTC"
        assert "March 3, 9:10 a.m." in page, "delivered at 14:10 UTC"
        actions = {action.name: action.url for action in response.context["page"].actions}
        assert actions["return"].startswith(f"{settings.PUBLIC_BASE_URL}/returns/")
        assert "Start a return" in page
        assert response.context["page"].expected is None

    def test_a_cancelled_order_shows_only_the_steps_it_took(self, client, shop, mia):
        order = placed_order(shop, mia)
        orders.order_cancel(order=order, actor=SYSTEM, occurred_at=PLACED + dt.timedelta(days=1))

        response = client.get(status_path(order))

        assert [(step.key, step.state) for step in response.context["page"].steps] == [
            ("placed", "done"),
            ("cancelled", "current"),
        ]
        page = page_text(response)
        assert "Cancelled" in page
        assert "Start a return" not in page

    def test_a_refunded_order_ends_with_the_refund(self, client, shop, mia):
        order = delivered_order(shop, mia)
        orders.order_refund_record(order=order, actor=SYSTEM, amount=Decimal("12.00"), occurred_at=NOW)

        response = client.get(status_path(order))

        keys = [(step.key, step.state) for step in response.context["page"].steps]
        assert keys[-2:] == [("delivered", "done"), ("refunded", "current")]
        assert "Partly refunded" in page_text(response)

    def test_the_page_speaks_the_customers_language_with_dates_in_their_zone(self, client, shop):
        anna = CustomerFactory(shop=shop, first_name="Anna", language="de", country="DE", time_zone="Europe/Berlin")
        order = shipped_order(shop, anna)

        response = client.get(status_path(order), HTTP_ACCEPT_LANGUAGE="en")

        assert response["Content-Language"] == "de"
        page = page_text(response)
        assert 'lang="de"' in page
        assert "Bestellung #1001" in page
        assert "Ihre Bestellung ist unterwegs" in page
        assert "Versandt" in page
        assert "2. März, 14:30" in page, "shipped 13:30 UTC is 14:30 in Berlin"
        assert "Sendungsnummer" in page

    @pytest.mark.parametrize(
        ("language", "words"),
        [
            ("ru", "Ваш заказ в пути"),
            ("ko", "주문하신 상품이 배송 중이에요"),
            ("zh-hans", "您的订单正在配送途中"),
        ],
    )
    def test_each_language_has_its_own_words(self, client, shop, language, words):
        customer = CustomerFactory(shop=shop, language=language)
        order = shipped_order(shop, customer)
        response = client.get(status_path(order))
        assert response["Content-Language"] == language
        assert words in page_text(response)

    def test_notifications_are_offered_only_while_the_order_has_news_to_come(self, client, shop, mia, vapid):
        # Given a shipped order, a delivered one, a cancelled one and a shipped one without a customer
        shipped = shipped_order(shop, mia, number="#1001")
        delivered = delivered_order(shop, mia, number="#1002")
        cancelled = placed_order(shop, mia, number="#1003")
        orders.order_cancel(order=cancelled, actor=SYSTEM, occurred_at=PLACED + dt.timedelta(days=1))
        anonymous = shipped_order(shop, None, number="#1004")
        offer = "Notify me about this order"

        # When each one's page is opened, then only the shipped order with a customer offers notifications
        assert {
            order.number: offer in page_text(client.get(status_path(order)))
            for order in (shipped, delivered, cancelled, anonymous)
        } == {"#1001": True, "#1002": False, "#1003": False, "#1004": False}

    def test_russian_dates_put_the_month_in_the_genitive_after_the_day(self, client, shop):
        # Given a Russian customer in Moscow whose order shipped on 2 March at 13:30 UTC (16:30 in Moscow)
        olga = CustomerFactory(shop=shop, language="ru", country="RU", time_zone="Europe/Moscow")
        order = shipped_order(shop, olga)

        # When she opens the page
        page = page_text(client.get(status_path(order)))

        # Then the day reads "2 марта", as Russian says it, never "2 Март"
        assert "2 марта, 16:30" in page
        assert "Март" not in page

    @pytest.mark.parametrize(
        ("language", "zone", "shipped", "ships_by"),
        [
            # Shipped 2 March 13:30 UTC; ship-by 4 March 14:00 UTC (the page says it before the parcel leaves)
            ("zh-hans", "Asia/Shanghai", "3月2日 21:30", "3月4日"),
            ("ko", "Asia/Seoul", "3월 2일 22:30", "3월 4일"),
        ],
    )
    def test_chinese_and_korean_dates_read_day_then_time_without_a_comma(
        self, client, shop, language, zone, shipped, ships_by
    ):
        # Given a customer in Shanghai or Seoul with a shipped order, and another with an order still to ship
        customer = CustomerFactory(shop=shop, language=language, time_zone=zone)
        order = shipped_order(shop, customer)
        waiting = placed_order(shop, customer, number="#1002")
        orders.order_mark_paid(order=waiting, actor=SYSTEM, occurred_at=PLACED + dt.timedelta(minutes=5))

        # When they open the pages
        page = page_text(client.get(status_path(order)))
        before_shipping = page_text(client.get(status_path(waiting)))

        # Then the day and the 24-hour time follow each other as the language writes them
        assert shipped in page
        assert "日," not in page
        assert "일," not in page
        assert "오후" not in page, "a 24-hour time, as the order's other times"
        assert ships_by in before_shipping
        assert "03月" not in before_shipping, "no zero before the month"

    def test_a_tracking_url_that_is_not_a_web_address_is_not_linked(self, client, shop, mia):
        # Given a parcel whose platform sent a script as its tracking URL
        order = shipped_order(shop, mia)
        Shipment.objects.filter(order=order).update(tracking_url="JavaScript:alert(document.cookie)")

        # When the customer opens the page, then the parcel shows without the link
        page = page_text(client.get(status_path(order)))
        assert "JJD0001" in page
        assert "alert(" not in page
        assert "Track with the carrier" not in page

    def test_the_page_costs_a_fixed_number_of_queries(self, client, shop, mia, django_assert_num_queries):
        order = delivered_order(shop, mia)
        path = status_path(order)
        # The order with shop and customer, its lines, its parcels, when it went out for delivery, and the
        # review action's request; the return action needs no query.
        with django_assert_num_queries(5):
            assert client.get(path).status_code == 200

    def test_a_shipped_order_costs_one_query_more_for_the_transit_time_then_none_while_cached(
        self, client, shop, mia, django_assert_num_queries
    ):
        order = shipped_order(shop, mia)
        path = status_path(order)
        with django_assert_num_queries(5):  # order, lines, parcels, out for delivery, typical transit time
            client.get(path)
        with django_assert_num_queries(4):
            client.get(path)


class TestLinks:
    def test_a_token_opens_its_own_order_and_nothing_of_another(self, client, shop, mia):
        mine = shipped_order(shop, mia, number="#1001")
        other_customer = CustomerFactory(shop=shop, first_name="Zed", email="zed@example.com")
        theirs = placed_order(shop, other_customer, number="#2002")
        orders.order_mark_paid(order=theirs, actor=SYSTEM)

        page = page_text(client.get(status_path(mine)))

        assert "#1001" in page
        assert "#2002" not in page
        for secret in ("Zed", "zed@example.com"):
            assert secret not in page

    def test_a_tampered_or_made_up_token_shows_the_friendly_not_found_page(self, client, shop, mia):
        order = shipped_order(shop, mia)
        token = order_status_token(order_id=order.pk, shop_id=shop.pk)
        for bad in (
            token[:-1] + ("A" if token[-1] != "A" else "B"),
            order_status_token(order_id=order.pk, shop_id=shop.pk + 1),  # genuine, but the order is not that shop's
            "nonsense",
        ):
            response = client.get(reverse("order-status", args=[bad]))
            assert response.status_code == 404
            text = page_text(response)
            assert "This link does not work" in text
            for secret in ("#1001", "Alpha Shoes", "DHL"):
                assert secret not in text

    def test_another_kind_of_signed_link_opens_nothing_here(self, client, shop, mia):
        from merchant.signed_links import signed_ids_make

        order = shipped_order(shop, mia)
        portal_token = signed_ids_make(object_id=order.pk, shop_id=shop.pk, salt="returns.portal")
        assert client.get(reverse("order-status", args=[portal_token])).status_code == 404

    def test_an_expired_link_shows_a_friendly_page_in_the_customers_language(self, client, shop, clock):
        anna = CustomerFactory(shop=shop, language="de", time_zone="Europe/Berlin")
        order = shipped_order(shop, anna)
        path = status_path(order)
        clock.shift(dt.timedelta(days=LINK_VALID_DAYS, seconds=1))

        response = client.get(path)

        assert response.status_code == 410
        assert response["Content-Language"] == "de"
        text = page_text(response)
        assert "Dieser Link ist abgelaufen" in text
        for secret in ("#1001", "DHL"):
            assert secret not in text

    def test_the_link_in_messages_opens_the_messages_order(self, shop, mia):
        from journeys.context import links_all
        from journeys.tests.factories import MessageFactory

        order = shipped_order(shop, mia)
        message = MessageFactory(shop=shop, customer=mia, order=order, trigger="shipped")
        url = links_all()["status"].make(message)
        assert url == order_status_url(order_id=order.pk, shop_id=shop.pk)
        without_order = MessageFactory(shop=shop, customer=mia, order=None, trigger="campaign")
        assert links_all()["status"].make(without_order) == ""


class TestNoStateChangesOnGet:
    def test_opening_the_page_counts_no_visit(self, client, shop, mia):
        order = shipped_order(shop, mia)
        for _ in range(5):
            client.get(status_path(order))
        assert not OrderStatusVisit.objects.exists()

    def test_the_beacon_cannot_be_fetched_with_get(self, client, shop, mia):
        order = shipped_order(shop, mia)
        seen = reverse("order-status-seen", args=[order_status_token(order_id=order.pk, shop_id=shop.pk)])
        assert client.get(seen).status_code == 405
        assert not OrderStatusVisit.objects.exists()


class TestAdminOrderPage:
    def test_the_owner_sees_the_customers_status_link_on_the_order(self, client, shop, mia, owner):
        order = shipped_order(shop, mia)
        client.force_login(owner)
        page = page_text(client.get(reverse("admin:merchant_order_change", args=[order.pk])))
        assert "Customer&#x27;s status page" in page or "Customer's status page" in page
        assert "/o/" + str(order_status_token(order_id=order.pk, shop_id=shop.pk)).split(":")[0] in page

    def test_a_staff_members_own_visit_is_not_counted(self, client, shop, mia, owner):
        order = shipped_order(shop, mia)
        client.force_login(owner)
        seen = reverse("order-status-seen", args=[order_status_token(order_id=order.pk, shop_id=shop.pk)])
        assert client.post(seen).status_code == 204
        assert not OrderStatusVisit.objects.exists()


def test_a_shipment_status_the_page_does_not_know_still_shows(client, shop, mia):
    order = shipped_order(shop, mia)
    Shipment.objects.filter(order=order).update(status="label_created")
    assert "Label created" in page_text(client.get(status_path(order)))

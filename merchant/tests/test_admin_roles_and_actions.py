"""What owners and agents may do in the admin, and the order actions as a person uses them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from merchant import services
from merchant.actors import Actor
from merchant.models import Customer, InboundEvent, Membership, Order, Shipment
from merchant.services.api_keys import api_key_create
from merchant.services.inbound import inbound_event_receive
from merchant.tests.factories import (
    CustomerFactory,
    MembershipFactory,
    MerchantFactory,
    OrderFactory,
    ProductFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def admin_url(model: str, action: str = "changelist", *args) -> str:
    return reverse(f"admin:merchant_{model}_{action}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


SHOP_FORM = {
    "name": "Alpha Shoes & Co",
    "country": "US",
    "time_zone": "America/Chicago",
    "default_language": "en",
    "currency": "USD",
    "contact_email": "care@alpha.example",
    "contact_phone": "",
    "sender_name": "Alpha",
}


class TestShopSettings:
    def test_owner_changes_the_shop_settings(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(admin_url("merchant", "change", shop.pk), SHOP_FORM)
        assert response.status_code == 302
        shop.refresh_from_db()
        assert (shop.name, shop.time_zone, shop.slug) == ("Alpha Shoes & Co", "America/Chicago", "alpha")

    def test_owner_gets_a_field_error_for_an_unknown_time_zone(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(admin_url("merchant", "change", shop.pk), {**SHOP_FORM, "time_zone": "Mars/Olympus"})
        assert response.status_code == 200
        assert "not a known time zone" in str(response.context["adminform"].form.errors["time_zone"])
        shop.refresh_from_db()
        assert shop.time_zone == "America/New_York"

    def test_agent_sees_the_shop_read_only_and_cannot_change_it(self, client, agent, shop):
        client.force_login(agent)
        page = client.get(admin_url("merchant", "change", shop.pk))
        assert page.status_code == 200
        assert 'name="name"' not in page.content.decode()
        response = client.post(admin_url("merchant", "change", shop.pk), SHOP_FORM)
        assert response.status_code == 403
        shop.refresh_from_db()
        assert shop.name == "Alpha Shoes"

    def test_nobody_but_a_superuser_adds_shops(self, client, owner):
        client.force_login(owner)
        assert client.get(admin_url("merchant", "add")).status_code == 403


class TestMemberships:
    def test_agent_cannot_see_or_manage_memberships(self, client, agent, shop):
        client.force_login(agent)
        assert client.get(admin_url("membership")).status_code == 403
        assert client.get(admin_url("membership", "add")).status_code == 403

    def test_owner_adds_an_agent_by_email(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(
            admin_url("membership", "add"), {"shop": shop.pk, "email": "new.agent@alpha.example", "role": "agent"}
        )
        assert response.status_code == 302
        membership = Membership.objects.get(user__email="new.agent@alpha.example")
        assert (membership.shop, membership.role, membership.user.is_staff) == (shop, "agent", True)
        assert any("first password" in text for text in messages_of(response))

    def test_owner_cannot_add_people_to_another_shop(self, client, owner, other_shop):
        client.force_login(owner)
        response = client.post(
            admin_url("membership", "add"), {"shop": other_shop.pk, "email": "mole@example.com", "role": "owner"}
        )
        assert response.status_code == 200
        assert "shop" in response.context["adminform"].form.errors
        assert not Membership.objects.filter(shop=other_shop, user__email="mole@example.com").exists()

    def test_owner_list_does_not_show_another_shops_people(self, client, owner, other_owner):
        client.force_login(owner)
        page = client.get(admin_url("membership")).content.decode()
        assert "owner@alpha.example" in page
        assert "owner@beta.example" not in page

    def test_the_last_owner_cannot_be_demoted_or_removed(self, client, owner, shop):
        client.force_login(owner)
        membership = Membership.objects.get(user=owner, shop=shop)
        response = client.post(admin_url("membership", "change", membership.pk), {"role": "agent"}, follow=True)
        assert any("last owner" in text for text in messages_of(response))
        response = client.post(admin_url("membership", "delete", membership.pk), {"post": "yes"}, follow=True)
        assert any("last owner" in text for text in messages_of(response))
        membership.refresh_from_db()
        assert membership.role == "owner"

    def test_owner_can_hand_over_and_then_step_down(self, client, owner, shop):
        client.force_login(owner)
        MembershipFactory(shop=shop, role="owner", user=UserFactory(username="second@alpha.example"))
        membership = Membership.objects.get(user=owner, shop=shop)
        response = client.post(admin_url("membership", "change", membership.pk), {"role": "agent"})
        assert response.status_code == 302
        membership.refresh_from_db()
        assert membership.role == "agent"


class TestCustomers:
    def test_agent_can_fix_a_customer_but_not_create_one(self, client, agent, shop):
        customer = CustomerFactory(shop=shop, country="DE", phone="", time_zone="", time_zone_source="")
        client.force_login(agent)
        assert client.get(admin_url("customer", "add")).status_code == 403
        response = client.post(
            admin_url("customer", "change", customer.pk),
            {
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "email": customer.email,
                "external_id": customer.external_id,
                "phone": "0151 23456789",
                "country": "DE",
                "language": "de",
                "time_zone": "",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        customer.refresh_from_db()
        assert customer.phone.as_e164 == "+4915123456789"
        assert (customer.time_zone, customer.time_zone_source) == ("Europe/Berlin", "phone")

    @pytest.mark.parametrize(
        ("phone", "country", "message"),
        [
            ("0151 234", "DE", "too short for a mobile number in Germany (DE)"),
            ("212 555", "US", "too short for a phone number in United States of America (US)"),
            ("+49 1512 3456789 12345", "", "too long"),
            ("+999 1234567", "", "no valid country code"),
            ("555-555-SHIP", "US", "not a number in service in United States of America (US)"),
            ("N/A", "US", "is not a phone number"),
        ],
    )
    def test_owner_gets_a_phone_error_that_says_what_is_wrong(self, client, owner, shop, phone, country, message):
        client.force_login(owner)
        response = client.post(admin_url("customer", "add"), {"shop": shop.pk, "phone": phone, "country": country})
        assert response.status_code == 200
        assert message in " ".join(response.context["adminform"].form.errors["phone"])
        assert not Customer.objects.exists()

    def test_a_national_number_without_customer_country_is_read_in_the_shops_country(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(admin_url("customer", "add"), {"shop": shop.pk, "phone": "(201) 555-0123"})
        assert response.status_code == 302
        assert Customer.objects.get().phone.as_e164 == "+12015550123"

    def test_new_customer_without_zone_gets_one_from_the_phone(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(
            admin_url("customer", "add"),
            {"shop": shop.pk, "first_name": "Min", "phone": "+82 10-2345-6789", "country": "KR", "language": "ko"},
        )
        assert response.status_code == 302
        customer = Customer.objects.get()
        assert (customer.time_zone, customer.time_zone_source, customer.shop) == ("Asia/Seoul", "phone", shop)


class TestOrderActions:
    def test_status_is_read_only_on_the_order_page_which_shows_the_timeline(self, client, agent, shop):
        order = OrderFactory(shop=shop, number="#A7")
        services.order_mark_paid(order=order, actor=Actor.webhook("shopify"))
        client.force_login(agent)
        page = client.get(admin_url("order", "change", order.pk)).content.decode()
        assert 'name="status"' not in page
        assert "Timeline" in page
        assert "Payment received" in page
        assert "Webhook: shopify" in page
        assert "Mark as paid" in page  # the action picker on the page

    def test_agent_marks_an_order_paid(self, client, agent, shop):
        order = OrderFactory(shop=shop)
        client.force_login(agent)
        response = client.post(admin_url("order"), {"action": "mark_paid", "_selected_action": [order.pk]})
        assert response.status_code == 302
        order.refresh_from_db()
        assert order.status == "paid"
        event = order.events.get()
        assert (event.actor_kind, event.actor_user) == ("user", agent)
        assert "1 order marked paid." in messages_of(response)

    def test_illegal_transition_is_refused_with_a_message_and_changes_nothing(self, client, owner, shop):
        paid = OrderFactory(shop=shop, status="pending_payment", number="#A1")
        shipped = OrderFactory(shop=shop, status="shipped", number="#A2")
        client.force_login(owner)
        response = client.post(admin_url("order"), {"action": "mark_paid", "_selected_action": [paid.pk, shipped.pk]})
        texts = messages_of(response)
        assert "1 order marked paid." in texts
        assert "Refused: Order #A2 is shipped and cannot be marked paid." in texts
        shipped.refresh_from_db()
        assert shipped.status == "shipped"
        assert not shipped.events.exists()

    def test_shipping_asks_for_tracking_then_records_the_parcel(self, client, agent, shop):
        order = OrderFactory(shop=shop, status="paid", number="#A3")
        client.force_login(agent)
        form_page = client.post(admin_url("order"), {"action": "mark_shipped", "_selected_action": [order.pk]})
        assert form_page.status_code == 200
        assert "tracking_number" in form_page.content.decode()
        order.refresh_from_db()
        assert order.status == "paid"
        response = client.post(
            admin_url("order"),
            {
                "action": "mark_shipped",
                "_selected_action": [order.pk],
                "apply": "1",
                "carrier": "UPS",
                "tracking_number": "1Z999AA10123456784",
                "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            },
        )
        assert response.status_code == 302
        order.refresh_from_db()
        assert order.status == "shipped"
        shipment = Shipment.objects.get(order=order)
        assert (shipment.carrier, shipment.tracking_number) == ("UPS", "1Z999AA10123456784")

    def test_an_action_started_on_the_order_page_returns_there(self, client, agent, shop):
        order = OrderFactory(shop=shop, status="paid")
        client.force_login(agent)
        common = {"action": "mark_shipped", "_selected_action": [order.pk], "_return_to_order": order.pk}
        form_page = client.post(admin_url("order"), common)
        assert f'name="_return_to_order" value="{order.pk}"' in form_page.content.decode()
        response = client.post(admin_url("order"), {**common, "apply": "1", "carrier": "DHL"})
        assert response.status_code == 302
        assert response.url == admin_url("order", "change", order.pk)
        order.refresh_from_db()
        assert order.status == "shipped"

    def test_shipping_form_rejects_a_bad_tracking_url(self, client, agent, shop):
        order = OrderFactory(shop=shop, status="paid")
        client.force_login(agent)
        response = client.post(
            admin_url("order"),
            {"action": "mark_shipped", "_selected_action": [order.pk], "apply": "1", "tracking_url": "not a url"},
        )
        assert response.status_code == 200
        assert "tracking_url" in response.context["form"].errors
        order.refresh_from_db()
        assert order.status == "paid"

    def test_partial_refund_from_the_admin(self, client, owner, shop):
        order = OrderFactory(shop=shop, status="delivered", total=Decimal("80.00"))
        client.force_login(owner)
        client.post(
            admin_url("order"),
            {"action": "record_refund", "_selected_action": [order.pk], "apply": "1", "amount": "20.00"},
        )
        order.refresh_from_db()
        assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("20.00"))

    def test_refund_above_what_is_left_is_refused(self, client, owner, shop):
        order = OrderFactory(shop=shop, status="delivered", total=Decimal("80.00"), number="#A9")
        client.force_login(owner)
        response = client.post(
            admin_url("order"),
            {"action": "record_refund", "_selected_action": [order.pk], "apply": "1", "amount": "99.00"},
        )
        assert any("Only 80.00 USD of order #A9 is left to refund" in text for text in messages_of(response))
        order.refresh_from_db()
        assert (order.status, order.refunded_total) == ("delivered", Decimal("0.00"))

    def test_nobody_adds_or_deletes_orders_in_the_admin(self, client, owner, superuser, shop):
        order = OrderFactory(shop=shop)
        for person in (owner, superuser):
            client.force_login(person)
            assert client.get(admin_url("order", "add")).status_code == 403
            assert client.get(admin_url("order", "delete", order.pk)).status_code == 403
        assert Order.objects.filter(pk=order.pk).exists()


class TestListPagesUseConstantQueries:
    @staticmethod
    def fill(shop, owner, count: int) -> None:
        """`count` more rows of every kind the owner can list: customers, orders, products, tags,
        memberships, and shops they own."""
        now = timezone.now()
        for _ in range(count):
            customer = CustomerFactory(shop=shop)
            customer.tags.add(TagFactory(shop=shop))
            order = OrderFactory(shop=shop, customer=customer, placed_at=now - dt.timedelta(hours=1))
            services.order_mark_paid(order=order, actor=Actor.webhook("shopify"))
            ProductFactory(shop=shop)
            MembershipFactory(shop=shop, role="agent")
            MembershipFactory(shop=MerchantFactory(), user=owner, role="owner")
            api_key_create(shop=shop, name="key")
            event = inbound_event_receive(shop=shop, source="shopify", topic="orders/paid", body=b"{}")
            InboundEvent.objects.filter(pk=event.pk).update(order=order, error="a reason")

    @staticmethod
    def count_queries(client, url: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries)

    @pytest.mark.parametrize(
        "model", ["customer", "order", "product", "tag", "membership", "merchant", "apikey", "inboundevent"]
    )
    def test_list_page(self, client, owner, shop, model):
        client.force_login(owner)
        self.fill(shop, owner, 2)
        # the first visit also writes the session and fills process-wide caches (content types)
        client.get(admin_url(model))
        few = self.count_queries(client, admin_url(model))
        self.fill(shop, owner, 20)
        response = client.get(admin_url(model))
        assert response.context["cl"].result_count >= 21
        many = self.count_queries(client, admin_url(model))
        assert few == many

    def test_order_page_with_a_long_timeline(self, client, owner, shop):
        order = OrderFactory(shop=shop)
        client.force_login(owner)
        services.order_mark_paid(order=order, actor=Actor.staff(owner))
        # the first visit also writes the session and fills process-wide caches (content types)
        client.get(admin_url("order", "change", order.pk))
        few = self.count_queries(client, admin_url("order", "change", order.pk))
        for number in range(15):
            services.order_note_add(order=order, actor=Actor.staff(owner), text=f"called the customer ({number})")
        many = self.count_queries(client, admin_url("order", "change", order.pk))
        assert few == many


class TestPresentation:
    def test_times_show_in_the_shops_zone(self, client, agent, shop):
        placed = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
        OrderFactory(shop=shop, placed_at=placed, number="#T1")  # Alpha Shoes is on New York time
        client.force_login(agent)
        page = client.get(admin_url("order")).content.decode()
        assert "Jan. 15, 2026, 7 a.m." in page

    def test_the_shop_column_appears_only_for_people_with_several_shops(self, client, agent, shop, other_shop):
        OrderFactory(shop=shop)
        client.force_login(agent)
        assert "shop" not in client.get(admin_url("order")).context["cl"].list_display
        services.membership_set(shop=other_shop, user=agent, role="agent")
        assert "shop" in client.get(admin_url("order")).context["cl"].list_display

"""The outbox as owners and agents see it, cancelling by hand, and the merged order/customer timeline."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from journeys.models import Message
from journeys.services.outbox import message_cancel
from journeys.services.rules import care_rule_save
from journeys.tests.factories import CareRuleFactory, MessageFactory, MessageTemplateFactory
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.services import orders
from merchant.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
Status = Message.Status


def admin_url(model: str, action: str = "changelist", *args, app: str = "journeys") -> str:
    return reverse(f"admin:{app}_{model}_{action}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.fixture
def customer(shop):
    return CustomerFactory(shop=shop, first_name="Ann", last_name="Lee", email="ann@alpha.example")


def outbox_row(shop, customer, **fields):
    order = fields.pop("order", None) or OrderFactory(shop=shop, customer=customer)
    return MessageFactory(shop=shop, customer=customer, order=order, address=str(customer.phone), **fields)


class TestOutboxList:
    def test_lists_only_own_shops_messages_and_hides_others_by_url(self, client, agent, shop, other_shop, customer):
        mine = outbox_row(shop, customer, order=OrderFactory(shop=shop, customer=customer, number="#A100"))
        theirs = outbox_row(
            other_shop,
            CustomerFactory(shop=other_shop),
            order=OrderFactory(shop=other_shop, number="#B100"),
        )
        client.force_login(agent)
        page = client.get(admin_url("message")).content.decode()
        assert "#A100" in page
        assert "#B100" not in page
        assert client.get(admin_url("message", "change", mine.pk)).status_code == 200
        assert client.get(admin_url("message", "change", theirs.pk)).status_code == 404
        assert client.get(admin_url("message"), {"q": "#B100"}).context["cl"].result_count == 0

    def test_columns_show_local_time_trigger_recipient_and_order_link(self, client, owner, shop, customer):
        order = OrderFactory(shop=shop, customer=customer, number="#A7")
        send_at = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
        outbox_row(shop, customer, order=order, send_at=send_at, trigger="shipped", attempts=2)
        client.force_login(owner)
        page = client.get(admin_url("message")).content.decode()
        assert "March 2, 2026, 10 a.m. EST" in page
        assert "Shipped, with tracking" in page
        assert "+12125550123" in page
        assert f'href="{admin_url("order", "change", order.pk, app="merchant")}"' in page

    @pytest.mark.parametrize(
        ("query", "found"), [("#A55", 1), ("ann@alpha.example", 2), ("rule:9:order:1:0", 1), ("nobody", 0)]
    )
    def test_search_by_order_number_email_or_key(self, client, owner, shop, customer, query, found):
        outbox_row(shop, customer, order=OrderFactory(shop=shop, customer=customer, number="#A55"))
        outbox_row(shop, customer, idem_key="rule:9:order:1:0")
        client.force_login(owner)
        assert client.get(admin_url("message"), {"q": query}).context["cl"].result_count == found

    def test_filters_by_status_trigger_and_reason(self, client, owner, shop, customer):
        outbox_row(shop, customer, status="suppressed", reason="opted_out", trigger="shipped")
        outbox_row(shop, customer, status="scheduled", trigger="delivered")
        client.force_login(owner)
        listing = client.get(admin_url("message"), {"status__exact": "suppressed", "reason__exact": "opted_out"})
        assert listing.context["cl"].result_count == 1
        assert client.get(admin_url("message"), {"trigger": "delivered"}).context["cl"].result_count == 1

    def test_list_uses_constant_queries(self, client, owner, shop, customer, django_assert_num_queries):
        client.force_login(owner)
        outbox_row(shop, customer)
        client.get(admin_url("message"))
        few = count_queries(client, admin_url("message"))
        for _ in range(20):
            outbox_row(shop, CustomerFactory(shop=shop), rule=CareRuleFactory(shop=shop))
        with django_assert_num_queries(few):
            response = client.get(admin_url("message"))
        assert response.context["cl"].result_count == 21


class TestOutboxDetail:
    def test_shows_everything_about_a_message(self, client, agent, shop, customer):
        message = outbox_row(
            shop,
            customer,
            status="sent",
            explanation="Rule “Thanks”: delivered 3 Mar 14:02 + 2 hours. Send at 3 Mar 16:02 UTC.",
            error="429 Too Many Requests",
            subject="Your order",
            body="Hi Ann, it arrived.",
            html_body='<p>Hi <b>Ann</b></p><script>alert("x")</script>',
            provider="twilio",
            provider_message_id="SM1234567890",
            lease_owner="dispatcher-7",
            lease_until=timezone.now(),
        )
        client.force_login(agent)
        response = client.get(admin_url("message", "change", message.pk))
        assert response.status_code == 200
        page = response.content.decode()
        for text in (
            escape(message.explanation),
            "429 Too Many Requests",
            "Hi Ann, it arrived.",
            "SM1234567890",
            "dispatcher-7 until",
        ):
            assert text in page
        # The HTML body is shown in a sandbox, escaped into srcdoc: its script cannot run in the admin.
        assert 'sandbox="" srcdoc="&lt;p&gt;Hi &lt;b&gt;Ann&lt;/b&gt;&lt;/p&gt;&lt;script&gt;' in page
        assert '<script>alert("x")</script>' not in page
        assert 'name="body"' not in page, "read-only"
        assert "Cancel this message" not in page, "a sent message cannot be cancelled"

    def test_nobody_adds_changes_or_deletes_messages_by_hand(self, client, owner, superuser, shop, customer):
        message = outbox_row(shop, customer)
        for person in (owner, superuser):
            client.force_login(person)
            assert client.get(admin_url("message", "add")).status_code == 403
            assert client.get(admin_url("message", "delete", message.pk)).status_code == 403
            response = client.post(admin_url("message", "change", message.pk), {"body": "forged", "status": "sent"})
            assert response.status_code == 403
        message.refresh_from_db()
        assert (message.status, message.body) == ("scheduled", "")


class TestCancelling:
    def test_agent_cancels_a_scheduled_message_from_the_list(self, client, agent, shop, customer):
        message = outbox_row(shop, customer, explanation="Send at 3 Mar 16:02 UTC.")
        client.force_login(agent)
        response = client.post(admin_url("message"), {"action": "cancel_messages", "_selected_action": [message.pk]})
        assert response.status_code == 302
        assert "1 message cancelled." in messages_of(response)
        message.refresh_from_db()
        assert (message.status, message.reason) == ("cancelled", "")
        assert message.finished_at is not None
        assert message.explanation == "Send at 3 Mar 16:02 UTC. Cancelled by agent@alpha.example."

    def test_a_sent_message_is_refused_and_the_others_are_cancelled(self, client, owner, shop, customer):
        scheduled = outbox_row(shop, customer)
        sent = outbox_row(shop, customer, status="sent", trigger="shipped")
        client.force_login(owner)
        response = client.post(
            admin_url("message"), {"action": "cancel_messages", "_selected_action": [scheduled.pk, sent.pk]}
        )
        texts = messages_of(response)
        assert "1 message cancelled." in texts
        assert any(
            text.startswith("Refused:") and "Shipped, with tracking" in text and "is sent" in text for text in texts
        )
        sent.refresh_from_db()
        assert sent.status == "sent"

    def test_cancelling_from_the_message_page_returns_there(self, client, owner, shop, customer):
        message = outbox_row(shop, customer)
        client.force_login(owner)
        page = client.get(admin_url("message", "change", message.pk)).content.decode()
        assert "Cancel this message" in page
        response = client.post(
            admin_url("message"),
            {"action": "cancel_messages", "_selected_action": [message.pk], "_return_to_message": message.pk},
        )
        assert response.url == admin_url("message", "change", message.pk)
        message.refresh_from_db()
        assert message.status == "cancelled"

    def test_nobody_cancels_another_shops_message(self, client, owner, other_shop):
        theirs = outbox_row(other_shop, CustomerFactory(shop=other_shop))
        client.force_login(owner)
        client.post(admin_url("message"), {"action": "cancel_messages", "_selected_action": [theirs.pk]})
        theirs.refresh_from_db()
        assert theirs.status == "scheduled"

    @pytest.mark.parametrize("status", list(Status))
    def test_the_service_cancels_only_scheduled_messages(self, shop, status):
        message = MessageFactory(
            shop=shop, status=status, lease_until=timezone.now() if status == Status.SENDING else None
        )
        if status == Status.SCHEDULED:
            assert message_cancel(message=message, actor_label="ann").status == Status.CANCELLED
        else:
            with pytest.raises(InvalidTransition, match="only scheduled ones can"):
                message_cancel(message=message, actor_label="ann")
        message.refresh_from_db()
        assert message.status == (Status.CANCELLED if status == Status.SCHEDULED else status)


def shipped_order_with_a_planned_message(shop, customer, number="#T1"):
    rule = CareRuleFactory(shop=shop, name="Shipped", trigger="shipped", is_active=True, channel="sms")
    care_rule_save(rule=rule)
    MessageTemplateFactory(rule=rule, body="Order {{ order.number }} is on its way: {{ tracking_url }}")
    actor = Actor.system("test")
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="USD",
        actor=actor,
        customer=customer,
        lines=[orders.LineInput(title="Trail shoes", unit_price=Decimal("80.00"))],
    )
    orders.order_mark_paid(order=order, actor=actor)
    orders.order_mark_shipped(order=order, actor=actor, carrier="UPS", tracking_number="1Z999")
    return order


class TestTimeline:
    def test_order_page_shows_the_planned_message_with_its_explanation(self, client, agent, shop, customer):
        order = shipped_order_with_a_planned_message(shop, customer)
        message = Message.objects.get(order=order)
        assert message.status == "scheduled"
        client.force_login(agent)
        response = client.get(admin_url("order", "change", order.pk, app="merchant"))
        page = response.content.decode()
        assert "Timeline" in page
        assert "Shipped, with tracking · SMS" in page
        assert escape(message.explanation) in page
        assert admin_url("message", "change", message.pk) in page
        kinds = [entry.kind for entry in response.context["timeline"]]
        assert kinds[:3] == ["order", "order", "order"]
        assert "message" in kinds
        assert [entry.at for entry in response.context["timeline"]] == sorted(
            entry.at for entry in response.context["timeline"]
        )

    def test_a_skipped_message_shows_its_reason(self, client, owner, shop):
        customer = CustomerFactory(shop=shop, phone="", email="")
        order = shipped_order_with_a_planned_message(shop, customer)
        client.force_login(owner)
        page = client.get(admin_url("order", "change", order.pk, app="merchant")).content.decode()
        assert "Suppressed: No usable address" in page

    def test_customer_page_shows_their_orders_events_and_messages(self, client, owner, shop, customer):
        first = shipped_order_with_a_planned_message(shop, customer, number="#T1")
        client.force_login(owner)
        response = client.get(admin_url("customer", "change", customer.pk, app="merchant"))
        page = response.content.decode()
        assert "Timeline" in page
        assert "Order placed · #T1" in page
        assert "Shipped, with tracking · SMS · #T1" in page
        assert admin_url("order", "change", first.pk, app="merchant") in page

    def test_order_page_queries_do_not_grow_with_messages(self, client, owner, shop, customer):
        order = shipped_order_with_a_planned_message(shop, customer)
        url = admin_url("order", "change", order.pk, app="merchant")
        client.force_login(owner)
        client.get(url)
        few = count_queries(client, url)
        for step in range(15):
            MessageFactory(shop=shop, customer=customer, order=order, step=str(step + 1), status="sent")
        assert count_queries(client, url) == few

    def test_customer_page_queries_do_not_grow_with_messages(self, client, owner, shop, customer):
        shipped_order_with_a_planned_message(shop, customer)
        url = admin_url("customer", "change", customer.pk, app="merchant")
        client.force_login(owner)
        client.get(url)
        few = count_queries(client, url)
        for number in range(10):
            order = OrderFactory(shop=shop, customer=customer, number=f"#M{number}")
            MessageFactory(shop=shop, customer=customer, order=order)
        assert count_queries(client, url) == few

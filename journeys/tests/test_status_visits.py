"""Visits to the order status page and the anxiety signal: counted from the page's beacon (POST), never from the
GET; a reload burst counts once; repeated visits before delivery raise `order_status_checked` once per window,
which the default rule answers with an update on where the order is."""

import datetime as dt
import logging

import pytest
import time_machine
from django.urls import reverse

from journeys.models import CareRule, Message, OrderStatusVisit, StatusCheckSettings
from journeys.services.content import message_content
from journeys.services.rules import care_rules_default_create
from journeys.status import listeners
from journeys.status.links import order_status_token
from journeys.status.services import order_status_visit_record
from journeys.status.views import VISITOR_COOKIE
from journeys.tests.test_order_status_page import CARRIER, SYSTEM, placed_order, shipped_order
from merchant.services import orders
from merchant.tests.factories import CustomerFactory

# Wednesday 3 June 2026, 14:00 UTC = 10:00 in New York: inside the default send window.
NOW = dt.datetime(2026, 6, 3, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def heard():
    """What the status check listeners hear (the support queue's is registered too, by returns)."""
    found = []
    listeners.register(found.append)
    yield found
    listeners.unregister(found.append)


@pytest.fixture
def care_shop(shop):
    care_rules_default_create(shop)
    CareRule.objects.filter(shop=shop).update(is_active=True)
    return shop


@pytest.fixture
def mia(care_shop):
    return CustomerFactory(shop=care_shop, first_name="Mia", language="en", time_zone="America/New_York")


@pytest.fixture
def order(care_shop, mia):
    with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
        return shipped_order(care_shop, mia)


def seen_path(order) -> str:
    return reverse("order-status-seen", args=[order_status_token(order_id=order.pk, shop_id=order.shop_id)])


def signals(order) -> list[Message]:
    return list(Message.objects.filter(order=order, trigger="order_status_checked"))


class TestBeacon:
    def test_the_beacon_counts_one_visit_and_gives_the_browser_an_id(self, client, order):
        response = client.post(seen_path(order))

        assert response.status_code == 204
        visit = OrderStatusVisit.objects.get()
        assert (visit.order_id, visit.shop_id, visit.order_status, visit.at) == (
            order.pk,
            order.shop_id,
            "shipped",
            NOW,
        )
        cookie = response.cookies[VISITOR_COOKIE]
        assert cookie.value == visit.visitor
        assert cookie["path"] == "/o/"
        assert cookie["httponly"]

    def test_reloads_within_ten_minutes_count_once_and_later_ones_again(self, client, order, clock):
        for _ in range(4):
            assert client.post(seen_path(order)).status_code == 204
        clock.shift(dt.timedelta(minutes=9, seconds=59))
        client.post(seen_path(order))
        assert OrderStatusVisit.objects.count() == 1

        clock.shift(dt.timedelta(minutes=10))
        client.post(seen_path(order))
        assert OrderStatusVisit.objects.count() == 2

    def test_another_browser_counts_at_once(self, client, order, django_user_model):
        client.post(seen_path(order))
        client.cookies.clear()
        client.post(seen_path(order), HTTP_USER_AGENT="Another phone")
        assert OrderStatusVisit.objects.count() == 2
        assert len(set(OrderStatusVisit.objects.values_list("visitor", flat=True))) == 2

    def test_a_browser_that_keeps_no_cookie_is_still_counted_once_per_burst(self, client, order):
        for _ in range(3):
            client.cookies.clear()
            client.post(seen_path(order), HTTP_USER_AGENT="Cookieless phone")
        assert OrderStatusVisit.objects.count() == 1

    def test_a_bad_or_expired_token_counts_nothing(self, client, order, clock):
        token = order_status_token(order_id=order.pk, shop_id=order.shop_id)
        assert client.post(reverse("order-status-seen", args=[token[:-2] + "xx"])).status_code == 404
        clock.shift(dt.timedelta(days=181))
        assert client.post(reverse("order-status-seen", args=[token])).status_code == 410
        assert not OrderStatusVisit.objects.exists()

    def test_the_page_carries_the_beacon_script_for_its_own_token(self, client, order):
        token = order_status_token(order_id=order.pk, shop_id=order.shop_id)
        page = client.get(reverse("order-status", args=[token])).content.decode()
        assert f'var url = "/o/{token}/seen"' in page
        assert "navigator.sendBeacon(url)" in page


class TestSignal:
    def visit(self, order, visitor, at):
        return order_status_visit_record(order=order, visitor=visitor, now=at)

    def test_the_third_visit_within_a_day_raises_the_signal_once(self, order, heard):
        first = self.visit(order, "phone", NOW - dt.timedelta(hours=20))
        second = self.visit(order, "laptop", NOW - dt.timedelta(hours=3))
        third = self.visit(order, "phone", NOW)

        assert [(o.counted, o.raised, o.visits_in_window) for o in (first, second, third)] == [
            (True, False, 1),
            (True, False, 2),
            (True, True, 3),
        ]
        [message] = signals(order)
        assert (message.status, message.channel, message.step) == ("scheduled", "sms", f"status-visit-{third.visit.pk}")
        [checked] = heard
        assert (checked.order_id, checked.visits, checked.window_hours, checked.order_status) == (
            order.pk,
            3,
            24,
            "shipped",
        )
        assert checked.source == f"journeys.orderstatusvisit:{third.visit.pk}"

        fourth = self.visit(order, "laptop", NOW + dt.timedelta(hours=1))
        fifth = self.visit(order, "tablet", NOW + dt.timedelta(hours=2))
        sixth = self.visit(order, "phone", NOW + dt.timedelta(hours=3))
        assert [o.raised for o in (fourth, fifth, sixth)] == [False, False, False], "once per window"
        assert len(signals(order)) == 1
        assert len(heard) == 1

    def test_after_raising_it_stays_quiet_for_exactly_one_window(self, order, heard):
        # Given the signal raised by the third visit at NOW, and two more visits while it is quiet
        for name, hours in (("a", -2), ("b", -1), ("c", 0)):
            self.visit(order, name, NOW + dt.timedelta(hours=hours))
        self.visit(order, "d", NOW + dt.timedelta(hours=5))
        self.visit(order, "e", NOW + dt.timedelta(hours=6))
        window_ends = NOW + dt.timedelta(hours=24)

        # When a visit comes a moment before the window has passed since the signal, it is quiet
        just_before = self.visit(order, "f", window_ends - dt.timedelta(microseconds=1))
        # and the next visit exactly one window after it raises the signal again, from the visits since
        at_the_end = self.visit(order, "g", window_ends)

        assert (just_before.raised, just_before.visits_in_window) == (False, 3)
        assert (at_the_end.raised, at_the_end.visits_in_window) == (True, 4)
        assert [checked.at for checked in heard] == [NOW, window_ends]
        assert len(signals(order)) == 2

    def test_a_shops_own_window_sets_how_long_it_stays_quiet(self, order, heard):
        StatusCheckSettings.objects.create(shop=order.shop, visits=2, window_hours=2)
        self.visit(order, "a", NOW - dt.timedelta(minutes=30))
        assert self.visit(order, "b", NOW).raised
        self.visit(order, "c", NOW + dt.timedelta(minutes=30))

        assert not self.visit(order, "d", NOW + dt.timedelta(hours=2) - dt.timedelta(seconds=1)).raised
        assert self.visit(order, "e", NOW + dt.timedelta(hours=2)).raised

    def test_visits_spread_over_more_than_the_window_raise_nothing(self, order, heard):
        self.visit(order, "phone", NOW - dt.timedelta(hours=30))
        self.visit(order, "phone", NOW - dt.timedelta(hours=12))
        outcome = self.visit(order, "phone", NOW)
        assert (outcome.raised, outcome.visits_in_window) == (False, 2)
        assert signals(order) == []
        assert heard == []

    def test_after_the_window_three_new_visits_raise_it_again(self, order, heard):
        for hours in (0, 1, 2):
            self.visit(order, f"v{hours}", NOW + dt.timedelta(hours=hours))
        for hours in (26, 27, 28):
            self.visit(order, f"w{hours}", NOW + dt.timedelta(hours=hours))
        assert len(heard) == 2
        assert len(signals(order)) == 2

    def test_the_visits_of_a_delivered_order_raise_nothing(self, order, heard):
        orders.shipment_record_carrier_update(
            shipment=order.shipments.get(), status="delivered", actor=CARRIER, occurred_at=NOW - dt.timedelta(hours=5)
        )
        order.refresh_from_db()
        outcomes = [self.visit(order, name, NOW - dt.timedelta(hours=hours)) for name, hours in (("a", 2), ("b", 1))]
        outcomes.append(self.visit(order, "c", NOW))
        assert [o.counted for o in outcomes] == [True, True, True], "still counted"
        assert not any(o.raised for o in outcomes)
        assert OrderStatusVisit.objects.filter(order=order, order_status="delivered").count() == 3
        assert signals(order) == []
        assert heard == []

    def test_an_unpaid_order_raises_nothing(self, care_shop, mia, heard):
        unpaid = placed_order(care_shop, mia, placed_at=NOW - dt.timedelta(hours=4))
        for name in ("a", "b", "c", "d"):
            self.visit(unpaid, name, NOW)
        assert heard == []

    def test_the_shops_own_threshold_and_window_apply(self, order, heard):
        StatusCheckSettings.objects.create(shop=order.shop, visits=2, window_hours=2)
        assert not self.visit(order, "a", NOW - dt.timedelta(hours=4)).raised
        assert not self.visit(order, "b", NOW - dt.timedelta(minutes=90)).raised
        assert self.visit(order, "c", NOW).raised
        assert heard[0].window_hours == 2

    def test_a_shop_that_turns_the_signal_off_still_counts_visits(self, order, heard):
        StatusCheckSettings.objects.create(shop=order.shop, is_enabled=False)
        for name in ("a", "b", "c", "d"):
            self.visit(order, name, NOW)
        assert OrderStatusVisit.objects.filter(order=order).count() == 4
        assert heard == []
        assert signals(order) == []

    def test_a_failing_listener_keeps_the_visit_and_the_message(self, order, heard, caplog):
        def broken(checked):
            raise RuntimeError("queue down")

        listeners.register(broken)
        try:
            with caplog.at_level(logging.ERROR):
                for name in ("a", "b", "c"):
                    self.visit(order, name, NOW)
        finally:
            listeners.unregister(broken)
        assert OrderStatusVisit.objects.filter(order=order).count() == 3
        assert len(signals(order)) == 1
        assert len(heard) == 1
        assert "Status check listener" in caplog.text

    def test_the_beacon_raises_it_end_to_end(self, client, order, heard, clock):
        for agent in ("phone", "laptop", "tablet"):
            client.cookies.clear()
            client.post(seen_path(order), HTTP_USER_AGENT=agent)
        assert len(heard) == 1
        assert len(signals(order)) == 1


class TestTheDefaultRulesAnswer:
    def test_the_update_says_where_the_parcel_is_with_the_status_link(self, order, settings):
        orders.shipment_record_carrier_update(
            shipment=order.shipments.get(),
            status="out_for_delivery",
            actor=CARRIER,
            occurred_at=dt.datetime(2026, 6, 3, 11, 15, tzinfo=dt.UTC),
        )
        for name in ("a", "b", "c"):
            order_status_visit_record(order=order, visitor=name, now=NOW)
        [message] = signals(order)
        rule = CareRule.objects.get(shop=order.shop, trigger="order_status_checked")
        assert message.rule_id == rule.pk
        assert (message.message_class, message.expires_at) == ("transactional", NOW + dt.timedelta(hours=12))

        content = message_content(message)

        token = order_status_token(order_id=order.pk, shop_id=order.shop_id)
        assert content.body == (
            "Alpha Shoes: about order #1001, your parcel is out for delivery (DHL, last update June 3). "
            f"Details: {settings.PUBLIC_BASE_URL}/o/{token}"
        )

    def test_in_german_before_shipping(self, care_shop, heard):
        anna = CustomerFactory(
            shop=care_shop, first_name="Anna", language="de", country="DE", time_zone="Europe/Berlin"
        )
        paid = placed_order(care_shop, anna, placed_at=NOW - dt.timedelta(hours=6))
        orders.order_mark_paid(order=paid, actor=SYSTEM, occurred_at=NOW - dt.timedelta(hours=5))
        for name in ("a", "b", "c"):
            order_status_visit_record(order=paid, visitor=name, now=NOW)
        [message] = signals(paid)

        body = message_content(message).body

        assert body.startswith("Alpha Shoes: zu Bestellung #1001: wir bereiten sie vor; Versand bis 6. Juni. Details: ")

    def test_the_rule_is_in_every_new_shops_set_and_off_until_the_owner_turns_it_on(self, db):
        from merchant.services import merchant_create

        shop = merchant_create(name="Nordlicht", slug="nordlicht", country="DE", time_zone="Europe/Berlin")
        rule = CareRule.objects.get(shop=shop, trigger="order_status_checked")
        assert not rule.is_active
        assert (rule.channel, rule.fallback_channel, rule.message_class) == ("sms", "email", "transactional")
        assert set(rule.templates.values_list("channel", "language")) == {
            (channel, language) for channel in ("sms", "email") for language in ("en", "de", "ru", "ko", "zh-hans")
        }


class TestSettingsAdmin:
    ADD = "admin:journeys_statuschecksettings_add"

    def test_the_owner_sets_the_shops_threshold_and_a_bad_value_is_refused_by_name(self, client, owner, shop):
        client.force_login(owner)
        refused = client.post(reverse(self.ADD), {"shop": shop.pk, "is_enabled": "on", "visits": 1, "window_hours": 24})
        assert refused.status_code == 200
        assert "visits" in refused.context["adminform"].form.errors
        assert not StatusCheckSettings.objects.exists()

        saved = client.post(reverse(self.ADD), {"shop": shop.pk, "is_enabled": "on", "visits": 4, "window_hours": 12})

        assert saved.status_code == 302
        row = StatusCheckSettings.objects.get(shop=shop)
        assert (row.visits, row.window_hours, row.is_enabled) == (4, 12, True)

    def test_an_agent_may_look_but_not_change(self, client, agent, shop):
        client.force_login(agent)
        assert client.get(reverse("admin:journeys_statuschecksettings_changelist")).status_code == 200
        assert client.get(reverse(self.ADD)).status_code == 403

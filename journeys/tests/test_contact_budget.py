"""The contact budget: at most 1 marketing message per 24 h and 4 per 30 days per customer (per shop
configurable), over every app; transactional messages are exempt. Checked when planned and again
just before sending, where two dispatchers racing for one customer send only one."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from journeys.models import CareRule, ContactBudget, Message
from journeys.services.budget import DEFAULT_BUDGET, Budget, BudgetLedger, budget_fits, budget_next_slot
from journeys.services.dispatch import Dispatcher
from journeys.tests.factories import MessageFactory
from journeys.tests.twilio_posts import NOON_IN_BERLIN, SYSTEM, drain, shipped_order
from merchant.services import orders

pytestmark = pytest.mark.django_db
UTC = dt.UTC
T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
CONSENT = dt.datetime(2026, 1, 1, tzinfo=UTC)


class TestSlidingWindows:
    def test_exactly_24_hours_after_the_last_message_there_is_room_again_not_a_microsecond_before(self):
        assert not budget_fits(DEFAULT_BUDGET, [T0], T0 + D - dt.timedelta(microseconds=1))
        assert budget_fits(DEFAULT_BUDGET, [T0], T0 + D)
        assert budget_next_slot(DEFAULT_BUDGET, [T0], T0 + H) == T0 + D

    def test_the_fifth_message_in_30_days_waits_until_the_first_leaves_the_window(self):
        used = [T0, T0 + 2 * D, T0 + 4 * D, T0 + 6 * D]
        assert budget_next_slot(DEFAULT_BUDGET, used, T0 + 8 * D) == T0 + 30 * D
        assert not budget_fits(DEFAULT_BUDGET, used, T0 + 30 * D - dt.timedelta(seconds=1))

    def test_a_message_scheduled_later_counts_so_an_earlier_one_cannot_crowd_it(self):
        # One is planned for tomorrow 10:00; today 12:00 would put two in the 24 h up to tomorrow 10:00.
        assert budget_next_slot(DEFAULT_BUDGET, [T0 + D], T0 + 2 * H) == T0 + 2 * D

    def test_a_shop_budget_of_two_a_day_admits_two(self):
        assert budget_fits(Budget(per_day=2, per_30_days=10), [T0], T0 + H)
        assert not budget_fits(Budget(per_day=2, per_30_days=10), [T0, T0 + H], T0 + 2 * H)


def marketing(rule: CareRule, *, over_budget: str = "defer") -> CareRule:
    rule.message_class, rule.over_budget, rule.fallback_channel = "marketing", over_budget, ""
    rule.save()
    return rule


def sent_marketing(customer, at: dt.datetime) -> Message:
    """A marketing message another app sent the customer at `at`."""
    return MessageFactory(
        shop=customer.shop, customer=customer, message_class="marketing", status="sent", send_at=at, sent_at=at
    )


def ship_another(first_order, number: str):
    order = orders.order_create(
        shop=first_order.shop, number=number, currency="EUR", actor=SYSTEM, customer=first_order.customer
    )
    orders.order_mark_paid(order=order, actor=SYSTEM)
    orders.order_mark_shipped(order=order, actor=SYSTEM, tracking_url=f"https://t.example/{number}")
    return Message.objects.get(order=order, trigger="shipped")


@pytest.fixture
def consenting_order(care_shop):
    """A shipped order of a Berlin customer who agreed to marketing texts, with its message removed."""
    order = shipped_order(care_shop, number="#1", sms_marketing_consent_at=CONSENT)
    Message.objects.filter(order=order).delete()
    return order


class TestWhenPlanned:
    def test_an_over_budget_message_is_deferred_to_the_next_free_slot_and_says_why(self, rules, noon, consenting_order):
        marketing(rules["shipped"])
        sent_marketing(consenting_order.customer, NOON_IN_BERLIN - 2 * H)
        message = ship_another(consenting_order, "#2")
        assert (message.status, message.message_class) == ("scheduled", "marketing")
        assert message.send_at == NOON_IN_BERLIN + 22 * H, "24 h after the one sent at 10:00 Berlin"
        assert "Deferred to 11 Jun 10:00 Europe/Berlin by the contact budget (1/24 h, 4/30 days)." in (
            message.explanation
        )

    def test_a_deferred_slot_outside_the_send_window_moves_to_the_window(self, rules, noon, consenting_order):
        marketing(rules["shipped"])
        sent_marketing(consenting_order.customer, NOON_IN_BERLIN - 12 * H)  # 00:00 Berlin
        message = ship_another(consenting_order, "#2")
        assert message.send_at == dt.datetime(2026, 6, 11, 7, 0, tzinfo=UTC), "midnight is closed: 09:00 Berlin"

    def test_a_rule_that_drops_suppresses_with_reason_budget(self, rules, noon, consenting_order):
        marketing(rules["shipped"], over_budget="drop")
        sent_marketing(consenting_order.customer, NOON_IN_BERLIN - 3 * H)
        message = ship_another(consenting_order, "#2")
        assert (message.status, message.reason) == ("suppressed", "budget")
        assert "Not sent: the contact budget (1/24 h, 4/30 days) has no room before 11 Jun 09:00" in (
            message.explanation
        )

    def test_a_message_deferred_past_its_useful_life_is_dropped_for_the_budget(self, rules, noon, consenting_order):
        marketing(rules["shipped"])
        for day in (1, 3, 5, 7):
            sent_marketing(consenting_order.customer, NOON_IN_BERLIN - day * D)
        message = ship_another(consenting_order, "#2")
        assert message.status == "expired", "the next slot is 23 days away, after the 48 h the message is useful"

    def test_transactional_messages_neither_use_nor_count_against_the_budget(self, care_shop, rules, noon):
        order = shipped_order(care_shop, number="#1", sms_marketing_consent_at=CONSENT)
        sent_marketing(order.customer, NOON_IN_BERLIN - H)
        message = ship_another(order, "#2")
        assert (message.status, message.message_class, message.send_at) == (
            "scheduled",
            "transactional",
            NOON_IN_BERLIN,
        )

    def test_a_shop_with_a_bigger_budget_plans_the_second_message_at_once(
        self, care_shop, rules, noon, consenting_order
    ):
        ContactBudget.objects.create(shop=care_shop, per_day=2, per_30_days=8)
        marketing(rules["shipped"])
        sent_marketing(consenting_order.customer, NOON_IN_BERLIN - H)
        assert ship_another(consenting_order, "#2").send_at == NOON_IN_BERLIN


def due_marketing(rule: CareRule, order, count: int) -> list[Message]:
    """`count` marketing texts of `rule` to the order's customer, all due now (as another app may plan them)."""
    return [
        MessageFactory(
            shop=order.shop,
            customer=order.customer,
            order=order,
            rule=rule,
            trigger=rule.trigger,
            message_class="marketing",
            time_zone="Europe/Berlin",
            send_at=NOON_IN_BERLIN - dt.timedelta(minutes=count - n),  # the first is due first
            expires_at=NOON_IN_BERLIN + 3 * D,
        )
        for n in range(count)
    ]


class TestWhenSent:
    def test_of_two_due_marketing_texts_to_one_customer_one_is_sent_and_the_other_deferred(
        self, rules, noon, consenting_order, twilio
    ):
        rule = marketing(rules["shipped"])
        first, second = due_marketing(rule, consenting_order, 2)
        assert drain() == {"sent": 1, "budget": 1}
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == ("sent", "scheduled")
        assert second.send_at == NOON_IN_BERLIN + D
        assert "Deferred to 11 Jun 12:00 Europe/Berlin by the contact budget (1/24 h, 4/30 days)." in (
            second.explanation
        )
        assert twilio.count == 1

    def test_a_dropping_rule_suppresses_the_second_with_reason_budget(self, rules, noon, consenting_order, twilio):
        rule = marketing(rules["shipped"], over_budget="drop")
        due_marketing(rule, consenting_order, 2)
        assert drain() == {"sent": 1, "suppressed": 1}
        dropped = Message.objects.get(status="suppressed")
        assert dropped.reason == "budget"
        assert dropped.explanation.endswith("Not sent: the contact budget (1/24 h, 4/30 days) was used up.")

    def test_one_sent_by_another_app_an_hour_ago_defers_the_due_one(self, rules, noon, consenting_order, twilio):
        rule = marketing(rules["shipped"])
        sent_marketing(consenting_order.customer, NOON_IN_BERLIN - H)
        (message,) = due_marketing(rule, consenting_order, 1)
        assert drain() == {"budget": 1}
        message.refresh_from_db()
        assert message.send_at == NOON_IN_BERLIN + 23 * H
        assert twilio.count == 0

    def test_a_transactional_batch_pays_no_query_for_the_budget(self, care_shop, noon, twilio):
        shipped_order(care_shop, number="#1")
        with CaptureQueriesContext(connection) as queries:
            assert drain() == {"sent": 1}
        budget_sql = [q["sql"] for q in queries if "budget_counted_at" in q["sql"] or "contactbudget" in q["sql"]]
        assert budget_sql == []

    def test_a_marketing_batch_pays_the_same_few_queries_for_2_or_6_customers(self, care_shop, rules, noon, twilio):
        rule = marketing(rules["shipped"])

        def budget_queries(customers: int) -> int:
            for n in range(customers):
                order = shipped_order(
                    care_shop,
                    number=f"#{customers}-{n}",
                    phone=f"+49151123456{n:02d}",
                    sms_marketing_consent_at=CONSENT,
                )
                Message.objects.filter(order=order).delete()
                due_marketing(rule, order, 1)
            with CaptureQueriesContext(connection) as queries:
                assert drain()["sent"] == customers
            return sum(
                1
                for q in queries
                if "budget_counted_at" in q["sql"]
                or "contactbudget" in q["sql"]
                or "FOR UPDATE" in q["sql"]
                and "merchant_customer" in q["sql"]
            )

        few = budget_queries(2)
        assert few <= 4
        assert budget_queries(6) == few


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one dispatcher")
@pytest.mark.django_db(transaction=True)
class TestTwoDispatchersAtOnce:
    def test_a_ledger_waits_for_the_customer_lock_and_then_counts_what_the_other_admitted(self, care_shop, rules):
        rule = marketing(rules["shipped"])
        with time_machine.travel(NOON_IN_BERLIN, tick=False):
            order = shipped_order(care_shop, number="#1", sms_marketing_consent_at=CONSENT)
        Message.objects.filter(order=order).delete()
        first, second = due_marketing(rule, order, 2)
        Message.objects.filter(pk__in=[first.pk, second.pk]).update(status="sending", lease_until=NOON_IN_BERLIN + H)
        first.refresh_from_db()
        second.refresh_from_db()
        verdicts = {}

        def other_dispatcher():
            try:
                verdicts["second"] = BudgetLedger([second]).verdict(second, now=NOON_IN_BERLIN)
            finally:
                connection.close()

        with transaction.atomic():
            verdict = BudgetLedger([first]).verdict(first, now=NOON_IN_BERLIN)
            racer = threading.Thread(target=other_dispatcher)
            racer.start()
            racer.join(timeout=0.5)
            assert racer.is_alive(), "the second dispatcher waits for the customer's row"
        racer.join(timeout=10)
        assert verdict.admitted
        assert not verdicts["second"].admitted
        assert verdicts["second"].next_slot == NOON_IN_BERLIN + D

    def test_two_dispatchers_sending_at_the_same_moment_send_one_marketing_text(self, care_shop, rules, twilio):
        rule = marketing(rules["shipped"])
        with time_machine.travel(NOON_IN_BERLIN, tick=False):
            order = shipped_order(care_shop, number="#1", sms_marketing_consent_at=CONSENT)
        Message.objects.filter(order=order).delete()
        due_marketing(rule, order, 2)
        start = threading.Barrier(2)
        tallies = []

        def dispatcher():
            try:
                with time_machine.travel(NOON_IN_BERLIN, tick=False), Dispatcher(channels=["sms"], batch_size=1) as one:
                    start.wait(timeout=10)
                    tallies.append(dict(one.batch("sms").tally))
            finally:
                connection.close()

        threads = [threading.Thread(target=dispatcher) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(tallies, key=str) == sorted([{"sent": 1}, {"budget": 1}], key=str)
        assert twilio.count == 1
        assert sorted(Message.objects.filter(rule=rule).values_list("status", flat=True)) == ["scheduled", "sent"]

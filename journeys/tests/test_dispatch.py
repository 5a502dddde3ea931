"""The dispatcher against a local fake Twilio over real HTTP: retries, permanent errors, fallbacks,
send windows re-checked at claim, leases and crashed dispatchers, rate limits and the clock."""

import datetime as dt
import gc
import weakref
from collections import Counter

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journeys.context import context_names
from journeys.models import CareRule, ConsentRecord, Message, MessageTemplate
from journeys.order_parts import LOADED_LINES, LOADED_PARCELS, order_lines
from journeys.services import dispatch
from journeys.services.dispatch import (
    Dispatcher,
    DispatchReport,
    clock_now,
    messages_claim,
    messages_for_sending,
    messages_let_go_of_lines,
    messages_reap,
    messages_record,
)
from journeys.testing.fake_twilio import error_body
from journeys.tests import twilio_posts
from journeys.tests.twilio_posts import NOON_IN_BERLIN, SYSTEM, drain, shipped_message
from merchant.models import Customer
from merchant.services import orders

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def shipped_order(shop, *, email="anna@example.de", **details):
    """A paid and shipped order of a Berlin customer with a phone and an email: its "shipped" SMS is due at once."""
    return twilio_posts.shipped_order(shop, email=email, **details)


class TestProviderAnswers:
    def test_a_server_error_is_retried_later_with_backoff_then_sent_once(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        twilio.fail_next = [(500, error_body(20500, "Internal Server Error", 500))]
        assert drain() == {"retried": 1}
        message = shipped_message(order)
        assert (message.status, message.attempts) == ("scheduled", 1)
        wait = (message.send_at - NOON_IN_BERLIN).total_seconds()
        assert 15 <= wait <= 30, "about 30 s with jitter for the first retry"
        assert drain() == {}, "not before its backoff"
        noon.shift(dt.timedelta(seconds=31))
        assert drain() == {"sent": 1}
        assert twilio.count == 1
        assert shipped_message(order).attempts == 2

    def test_too_many_requests_waits_as_long_as_retry_after_says(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        twilio.fail_next = [(429, {**error_body(20429, "Too Many Requests", 429), "retry_after": 600})]
        assert drain() == {"retried": 1}
        assert shipped_message(order).send_at >= NOON_IN_BERLIN + dt.timedelta(seconds=600)

    def test_an_invalid_number_fails_for_good_and_is_never_retried(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        twilio.fail_to = {"+4915112345678": (400, error_body(21211, "The 'To' number is not valid.", 400))}
        assert drain() == {"failed": 1}
        message = shipped_message(order)
        assert (message.status, message.reason, message.error_code) == ("failed", "invalid_address", "21211")
        customer = Customer.objects.get(pk=order.customer_id)
        assert (str(customer.phone), customer.phone_as_received) == ("", "+4915112345678"), "the number is set aside"
        assert customer.phone_problem.startswith("twilio error 21211")
        noon.shift(dt.timedelta(hours=2))
        assert drain() == {}
        assert twilio.request_count == 1

    def test_a_landline_refused_by_twilio_is_an_invalid_address_and_never_retried(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        twilio.fail_with(21635, to="+4915112345678")
        assert drain() == {"failed": 1}
        message = shipped_message(order)
        assert (message.status, message.reason, message.error_code) == ("failed", "invalid_address", "21635")
        assert message.error == "'To' number cannot be a landline"
        noon.shift(dt.timedelta(hours=2))
        assert drain() == {}
        assert twilio.request_count == 1

    def test_a_recipient_who_replied_stop_at_the_provider_is_suppressed(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        twilio.fail_to = {"+4915112345678": (400, error_body(21610, "Attempt to send to unsubscribed recipient", 400))}
        assert drain() == {"suppressed": 1}
        assert (shipped_message(order).status, shipped_message(order).reason) == ("suppressed", "opted_out")
        customer = Customer.objects.get(pk=order.customer_id)
        assert customer.sms_opted_out_at is not None, "no SMS is tried again"
        record = ConsentRecord.objects.get(customer=customer)
        assert (record.action, record.source, record.wording) == ("opted_out", "provider", "twilio error 21610")
        assert record.message == shipped_message(order)

    def test_it_gives_up_after_the_last_attempt(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        Message.objects.filter(order=order).update(max_attempts=2)
        twilio.fail_next = [(503, error_body(20503, "Service Unavailable", 503))] * 2
        assert drain() == {"retried": 1}
        noon.shift(dt.timedelta(minutes=5))
        assert drain() == {"failed": 1}
        assert "Gave up after 2 attempts" in shipped_message(order).explanation


class TestChecksJustBeforeSending:
    def test_a_closed_window_puts_the_message_back_without_using_an_attempt(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        # Planned at noon; the dispatcher only gets to it at 22:00 Berlin time.
        noon.move_to(dt.datetime(2026, 6, 10, 20, 0, tzinfo=UTC))
        assert drain() == {"window": 1}
        message = shipped_message(order)
        assert (message.status, message.attempts) == ("scheduled", 0)
        assert message.send_at == dt.datetime(2026, 6, 11, 7, 0, tzinfo=UTC), "09:00 in Berlin"
        assert "send window had closed" in message.explanation

    def test_a_customer_whose_number_went_away_gets_the_email_instead(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        Customer.objects.filter(pk=order.customer_id).update(phone="")
        assert drain() == {"fallback": 1, "sent": 1}
        message = shipped_message(order)
        assert (message.channel, message.status, message.address) == ("email", "sent", "anna@example.de")
        assert "Switched to email: no phone number" in message.explanation
        assert len(mail.outbox) == 1
        assert twilio.count == 0

    def test_a_customer_who_opted_out_after_planning_is_not_texted(self, care_shop, twilio, noon):
        order = shipped_order(care_shop, email="")
        Customer.objects.filter(pk=order.customer_id).update(sms_opted_out_at=timezone.now())
        assert drain() == {"suppressed": 1}
        assert shipped_message(order).reason == "opted_out"
        assert twilio.count == 0

    def test_an_order_refunded_while_its_message_was_leased_is_not_told_it_shipped(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        with Dispatcher(channels=["sms"]) as dispatcher:
            ids = messages_claim(channel="sms", limit=10, owner=dispatcher.owner, now=timezone.now())
            orders.order_refund_record(order=order, actor=SYSTEM)
            report = DispatchReport()
            dispatcher.process_claimed(ids, channel="sms", now=timezone.now(), report=report)
        assert dict(report.tally) == {"suppressed": 1}
        message = shipped_message(order)
        assert (message.status, message.reason) == ("suppressed", "order_changed")
        assert "the order is refunded now" in message.explanation
        assert twilio.count == 0

    def test_an_order_refunded_before_its_message_was_due_cancels_it(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        orders.order_refund_record(order=order, actor=SYSTEM)
        assert (shipped_message(order).status, shipped_message(order).reason) == ("cancelled", "order_changed")
        assert drain() == {"sent": 1}, "only the refund message, by email"
        assert twilio.count == 0
        assert "19.90 EUR" in mail.outbox[0].body

    def test_a_rule_turned_off_stops_its_scheduled_messages(self, care_shop, twilio, noon, rules):
        from journeys.services.rules import care_rule_save

        order = shipped_order(care_shop)
        rule = rules["shipped"]
        rule.is_active = False
        care_rule_save(rule=rule)
        assert (shipped_message(order).status, shipped_message(order).reason) == ("cancelled", "rule_disabled")
        assert drain() == {}


class TestLeases:
    def test_a_dispatcher_that_dies_after_claiming_loses_nothing(self, care_shop, twilio, noon):
        """The rows of a dispatcher killed mid-batch come back when its lease runs out, and are sent once."""
        sent_orders = [shipped_order(care_shop, number=f"#{n}", phone=f"+49151123456{n:02d}") for n in range(5)]
        claimed = messages_claim(channel="sms", limit=100, owner="crashed", now=timezone.now())
        assert len(claimed) == 5
        assert drain() == {}, "leased rows are not sent by another dispatcher"
        assert messages_reap() == 0, "not before the lease runs out"
        noon.shift(dt.timedelta(seconds=61))
        assert messages_reap() == 5
        assert drain() == {"sent": 5}
        assert sorted(m["to"] for m in twilio.messages) == sorted(str(o.customer.phone) for o in sent_orders)

    def test_a_late_outcome_from_a_dispatcher_whose_lease_was_reaped_is_ignored(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        [message_id] = messages_claim(channel="sms", limit=10, owner="slow", now=timezone.now())
        noon.shift(dt.timedelta(seconds=61))
        messages_reap()
        assert drain() == {"sent": 1}
        message = Message.objects.get(pk=message_id)
        written = messages_record(outcomes=[(message, {"status": "failed"})], owner="slow", now=timezone.now())
        assert written == 0
        assert shipped_message(order).status == "sent"

    def test_the_next_batch_is_claimed_while_one_is_on_its_way_and_a_crash_then_loses_nothing(
        self, care_shop, twilio, noon, monkeypatch
    ):
        """Batches overlap: one is decided while the one before is on its way. A dispatcher that fails then
        has recorded what it sent, puts back what it decided but did not send, and leaves the batch it had
        just claimed to the reaper; every message is sent exactly once."""
        twilio.latency = 0.05
        for n in range(6):
            shipped_order(care_shop, number=f"#{n}", phone=f"+49151123456{n:02d}")
        claim = dispatch.messages_claim
        leased_when_claiming: list[int] = []

        def claim_then_fail_on_the_third_batch(**kwargs):
            claimed = claim(**kwargs)
            if kwargs["channel"] == "sms" and claimed:
                leased_when_claiming.append(Message.objects.filter(status="sending").count())
                if len(leased_when_claiming) == 3:
                    raise RuntimeError("the dispatcher failed")
            return claimed

        monkeypatch.setattr(dispatch, "messages_claim", claim_then_fail_on_the_third_batch)
        with pytest.raises(RuntimeError, match="failed"):
            drain(batch_size=2)
        monkeypatch.undo()

        assert leased_when_claiming == [2, 4, 4], "a batch was claimed while the one before was not yet recorded"
        statuses = Counter(Message.objects.filter(trigger="shipped").values_list("status", flat=True))
        assert statuses == {"sent": 2, "scheduled": 2, "sending": 2}
        assert twilio.count == 2, "only the first batch went out"
        assert messages_reap() == 0, "not before the lease runs out"
        noon.shift(dt.timedelta(seconds=61))
        assert messages_reap() == 2
        assert drain() == {"sent": 4}
        assert sorted(Counter(m["to"] for m in twilio.messages).values()) == [1] * 6

    def test_a_drain_that_stops_at_its_count_sends_every_message_it_claimed(self, care_shop, twilio, noon):
        for n in range(5):
            shipped_order(care_shop, number=f"#{n}", phone=f"+49151123456{n:02d}")

        with Dispatcher(channels=["sms"], batch_size=2) as dispatcher:
            report = dispatcher.drain(max_messages=3)

        assert report.claimed == 4, "two whole batches"
        assert dict(report.tally) == {"sent": 4}
        statuses = Counter(Message.objects.filter(trigger="shipped").values_list("status", flat=True))
        assert statuses == {"sent": 4, "scheduled": 1}
        assert twilio.count == 4

    def test_a_marketing_message_whose_send_may_have_happened_is_not_resent(self, care_shop, twilio, noon, rules):
        rule = rules["shipped"]
        CareRule.objects.filter(pk=rule.pk).update(message_class="marketing")
        order = shipped_order(care_shop, sms_marketing_consent_at=timezone.now())
        messages_claim(channel="sms", limit=10, owner="crashed", now=timezone.now())
        noon.shift(dt.timedelta(seconds=61))
        assert messages_reap(provider_deduplicates=lambda channel: False) == 1
        message = shipped_message(order)
        assert message.status == "unknown"
        assert "not resent" in message.error
        assert drain() == {}


def test_lease_and_due_times_follow_the_database_clock(settings):
    settings.JOURNEYS_CLOCK = "database"
    with time_machine.travel(dt.datetime(2031, 1, 1, tzinfo=UTC)):
        database_now = clock_now()
    assert abs((database_now - dt.datetime.now(UTC)).total_seconds()) < 60


def test_the_database_clock_is_read_once_a_second_and_followed_in_between(settings, monkeypatch):
    settings.JOURNEYS_CLOCK = "database"
    monkeypatch.setattr(dispatch, "_clock_reading", None)
    with CaptureQueriesContext(connection) as queries:
        first = clock_now()
        second = clock_now()
    assert len(queries.captured_queries) == 1, "the second time within the second comes from the first reading"
    assert first <= second < first + dt.timedelta(seconds=dispatch.CLOCK_READ_EVERY_SECONDS)
    assert abs((second - dispatch.database_now()).total_seconds()) < 0.05

    reading, read_at = dispatch._clock_reading
    monkeypatch.setattr(dispatch, "_clock_reading", (reading, read_at - dispatch.CLOCK_READ_EVERY_SECONDS))
    with CaptureQueriesContext(connection) as queries:
        clock_now()
    assert len(queries.captured_queries) == 1, "a reading a second old is taken again"


class TestBatchLoading:
    def every_context_name(self) -> str:
        """A template that reads every name of the documented context (journeys.context)."""
        parts = []
        for name, attributes in context_names().items():
            if name == "lines":
                parts.append("{% for line in lines %}" + " ".join(f"{{{{ line.{a} }}}}" for a in sorted(attributes)))
                parts.append("{% endfor %}")
            elif attributes:
                parts.extend(f"{{{{ {name}.{attribute} }}}}" for attribute in sorted(attributes))
            else:
                parts.append(f"{{{{ {name} }}}}")
        return " ".join(parts)

    def test_a_batch_costs_the_same_queries_however_many_customers_and_orders_it_holds(
        self, care_shop, rules, twilio, noon
    ):
        # Every context name is rendered, so a column read but not loaded would cost a query per message.
        rule = rules["shipped"]
        MessageTemplate.objects.filter(rule=rule, channel="sms").update(body=self.every_context_name())
        first = [shipped_order(care_shop, number=f"#{n}", phone=f"+491511234567{n}") for n in range(2)]

        def batch_queries() -> int:
            with (
                Dispatcher(channels=["sms"], batch_size=50) as dispatcher,
                CaptureQueriesContext(connection) as queries,
            ):
                assert dispatcher.batch("sms").claimed
            return len(queries.captured_queries)

        queries_for_two = batch_queries()
        more = [shipped_order(care_shop, number=f"#{n}", phone=f"+491511234567{n}") for n in range(2, 8)]
        assert batch_queries() == queries_for_two

        assert {shipped_message(order).status for order in first + more} == {"sent"}
        assert twilio.count == 8
        body = shipped_message(more[-1]).body
        for expected in ("#7", "Wool socks", "DHL", "+4915112345677", "Anna", care_shop.name):
            assert expected in body


class TestMemoryOfABatch:
    def test_a_decided_batch_lets_go_of_its_order_lines_without_the_garbage_collector(self, care_shop, twilio, noon):
        """Lines prefetched with an order refer back to it: left in place, only a full collector pass
        (tens of ms with every thread stopped) would free them. Deciding a batch drops them."""
        order = shipped_order(care_shop)
        message_id = shipped_message(order).pk
        gc.collect()
        gc.disable()
        try:
            messages = messages_for_sending([message_id])
            with CaptureQueriesContext(connection) as queries:
                lines = order_lines(messages[0].order)
            assert lines, "the order's lines were loaded with the batch"
            assert not queries.captured_queries, "read from what the batch loaded"
            watched = [weakref.ref(line) for line in lines]
            del lines
            messages_let_go_of_lines(messages)
            assert LOADED_LINES not in messages[0].order.__dict__
            assert LOADED_PARCELS not in messages[0].order.__dict__
            del messages
            assert [ref() for ref in watched] == [None] * len(watched), "freed at once, by reference counting"
        finally:
            gc.enable()

"""Rate limits and daily caps of provider accounts, and SMS sent through each shop's own account.

Sends of one account get slots no closer than 1/(0.97 × rate) apart, shared by every dispatcher
through the database; what finds no slot goes back to the queue without using an attempt.
"""

import datetime as dt
import sys
import time

import pytest
import time_machine

from journeys.models import CareRule, Message, ProviderPace, SmsAccount
from journeys.providers.base import Envelope, Outcome
from journeys.providers.console import ConsoleProvider
from journeys.providers.twilio import TwilioSmsProvider
from journeys.services.dispatch import (
    SLOTTED_SWITCH_INTERVAL_SECONDS,
    Decision,
    Dispatcher,
    Send,
    result_changes,
)
from journeys.services.pacing import HORIZON, pace_interval, pace_reserve
from journeys.services.rules import care_rules_default_create
from journeys.services.sms_accounts import sms_account_save
from journeys.testing.fake_twilio import FakeTwilio
from journeys.tests.conftest import TWILIO_SID
from journeys.tests.twilio_posts import NOON_IN_BERLIN, drain, shipped_message, shipped_order

pytestmark = pytest.mark.django_db
UTC = dt.UTC
SHOP_SID = "AC" + "5" * 32
SHOP_TOKEN = "shop-own-token"  # noqa: S105 - a test credential of the fake server


def orders_of(shop, count: int, *, first: int = 0):
    return [shipped_order(shop, number=f"#{n}", phone=f"+49151123456{n:02d}") for n in range(first, first + count)]


class TestSlots:
    def test_slots_are_spaced_for_slightly_less_than_the_rate_and_reach_no_further_than_the_horizon(self, db):
        reservation = pace_reserve(key="acct", rate_per_second=10, daily_cap=None, wanted=30, now=NOON_IN_BERLIN)
        gaps = {
            round((b - a).total_seconds(), 6) for a, b in zip(reservation.slots, reservation.slots[1:], strict=False)
        }
        assert gaps == {round(pace_interval(10), 6)} == {round(1 / 9.7, 6)}
        assert reservation.slots[0] == NOON_IN_BERLIN
        assert reservation.slots[-1] <= NOON_IN_BERLIN + HORIZON
        assert len(reservation.slots) == 10, "9.7 per second: slots at 0, 0.103 … 0.928 s"
        assert len(reservation.paced) == 20
        assert reservation.paced[0] == reservation.slots[-1] + dt.timedelta(seconds=pace_interval(10))

    def test_a_second_dispatcher_continues_after_the_first_ones_last_slot(self, db):
        first = pace_reserve(key="acct", rate_per_second=4, daily_cap=None, wanted=2, now=NOON_IN_BERLIN)
        second = pace_reserve(key="acct", rate_per_second=4, daily_cap=None, wanted=2, now=NOON_IN_BERLIN)
        slots = first.slots + second.slots
        assert all((b - a).total_seconds() >= pace_interval(4) - 1e-6 for a, b in zip(slots, slots[1:], strict=False))
        assert len(set(slots)) == 4

    def test_an_account_idle_for_a_while_starts_again_now_without_a_burst_of_saved_up_slots(self, db):
        pace_reserve(key="acct", rate_per_second=2, daily_cap=None, wanted=2, now=NOON_IN_BERLIN)
        later = NOON_IN_BERLIN + dt.timedelta(minutes=5)
        reservation = pace_reserve(key="acct", rate_per_second=2, daily_cap=None, wanted=5, now=later)
        assert reservation.slots[0] == later
        assert len(reservation.slots) == 2, "0 and 0.515 s; the next (1.03 s) is beyond the horizon"

    def test_the_daily_cap_counts_per_utc_day_and_starts_again_at_midnight(self, db):
        evening = dt.datetime(2026, 6, 10, 23, 59, tzinfo=UTC)
        first = pace_reserve(key="acct", rate_per_second=None, daily_cap=3, wanted=2, now=evening)
        second = pace_reserve(key="acct", rate_per_second=None, daily_cap=3, wanted=2, now=evening)
        assert (len(first.slots), len(second.slots), second.over_cap) == (2, 1, 1)
        assert second.cap_resets_at == dt.datetime(2026, 6, 11, tzinfo=UTC)
        after_midnight = pace_reserve(key="acct", rate_per_second=None, daily_cap=3, wanted=4, now=second.cap_resets_at)
        assert (len(after_midnight.slots), after_midnight.over_cap) == (3, 1)
        assert ProviderPace.objects.get(key="acct").sent_on_day == 3


class TestDispatcherPacing:
    def test_a_batch_sends_what_fits_in_the_next_second_and_puts_the_rest_back_without_using_attempts(
        self, care_shop, twilio, noon, settings
    ):
        settings.TWILIO_RATE_PER_SECOND = 3
        orders = orders_of(care_shop, 7)
        with Dispatcher(channels=["sms"]) as dispatcher:
            report = dispatcher.batch("sms")
        assert dict(report.tally) == {"sent": 3, "paced": 4}
        assert twilio.count == 3
        waiting = Message.objects.filter(order__in=orders, status="scheduled").order_by("send_at")
        assert [message.attempts for message in waiting] == [0, 0, 0, 0]
        send_times = [message.send_at for message in waiting]
        assert send_times[0] > NOON_IN_BERLIN + dt.timedelta(seconds=2 * pace_interval(3))
        assert all(
            (b - a).total_seconds() >= pace_interval(3) - 1e-3 for a, b in zip(send_times, send_times[1:], strict=False)
        )
        assert "rate" not in waiting[0].explanation, "waiting for the rate is not worth explaining"

    def test_draining_waits_for_the_rate_and_never_puts_more_than_the_rate_into_any_second(
        self, care_shop, twilio, settings
    ):
        settings.TWILIO_RATE_PER_SECOND = 5
        with time_machine.travel(NOON_IN_BERLIN, tick=True):
            orders = orders_of(care_shop, 12)
            started = time.monotonic()
            assert drain(channels=["sms"]) == {"sent": 12}, "claimed a block at a time, nothing put back"
            took = time.monotonic() - started
        assert twilio.count == 12
        assert twilio.most_in_any_window(seconds=1.0) <= 5
        assert took >= 11 * pace_interval(5) - 0.05, "twelve slots 0.206 s apart"
        assert {shipped_message(order).attempts for order in orders} == {1}

    @pytest.mark.parametrize(("rate", "slotted"), [(20, True), (0, False)])
    def test_threads_take_turns_with_the_interpreter_lock_every_millisecond_while_slotted_sends_are_out(
        self, care_shop, twilio, settings, monkeypatch, rate, slotted
    ):
        """A thread that wakes at its slot waits for the lock at most this long (5 ms by default)."""
        settings.TWILIO_RATE_PER_SECOND = rate
        usual = sys.getswitchinterval()
        seen = []
        send = TwilioSmsProvider.send

        def send_noting_the_interval(provider, envelope):
            seen.append(sys.getswitchinterval())
            return send(provider, envelope)

        monkeypatch.setattr(TwilioSmsProvider, "send", send_noting_the_interval)
        with time_machine.travel(NOON_IN_BERLIN, tick=True):
            orders_of(care_shop, 4)
            assert drain(channels=["sms"]) == {"sent": 4}
        assert set(seen) == ({SLOTTED_SWITCH_INTERVAL_SECONDS} if slotted else {usual})
        assert sys.getswitchinterval() == usual, "as it was once the drain is over"

    def test_a_send_whose_slot_passed_is_not_made_and_goes_back_without_an_attempt(self, care_shop, twilio, noon):
        order = shipped_order(care_shop)
        message = shipped_message(order)
        message.attempts = 1
        envelope = Envelope(message_id=message.pk, channel="sms", to="+4915112345678", body="Hi")
        provider = ConsoleProvider(channel="sms")
        late = Send(Decision(message, envelope=envelope), provider, start_at=time.monotonic() - 0.5)
        result = Dispatcher._send_one(late)
        assert result.outcome == Outcome.DEFERRED
        changes, tally = result_changes(message, result, now=NOON_IN_BERLIN)
        assert (changes, tally) == ({"status": "scheduled", "send_at": NOON_IN_BERLIN, "attempts": 0}, "deferred")


@pytest.fixture
def shop_twilio():
    """A second fake Twilio: the shop's own account."""
    with FakeTwilio(auth=(SHOP_SID, SHOP_TOKEN)) as server:
        yield server


def own_account(shop, server, **limits) -> SmsAccount:
    account = SmsAccount(
        shop=shop, label="Own", account_sid=SHOP_SID, from_number="+15005550009", base_url=server.base_url, **limits
    )
    return sms_account_save(account=account, auth_token=SHOP_TOKEN)


class TestShopAccounts:
    def test_a_shop_with_its_own_account_sends_through_it_and_others_through_the_default(
        self, care_shop, other_shop, twilio, shop_twilio, noon
    ):

        care_rules_default_create(other_shop)
        CareRule.objects.filter(shop=other_shop).update(is_active=True)
        own_account(care_shop, shop_twilio, rate_per_second=None)
        mine = shipped_order(care_shop, number="#A", phone="+4915112345601")
        theirs = shipped_order(other_shop, number="#B", phone="+4915112345602")
        assert drain(channels=["sms"]) == {"sent": 2}
        assert [(m["account_sid"], m["from"], m["to"]) for m in shop_twilio.messages] == [
            (SHOP_SID, "+15005550009", "+4915112345601")
        ]
        assert [(m["account_sid"], m["to"]) for m in twilio.messages] == [(TWILIO_SID, "+4915112345602")]
        assert shipped_message(mine).provider_message_id == shop_twilio.messages[0]["sid"]
        assert shipped_message(theirs).provider_message_id == twilio.messages[0]["sid"]

    def test_an_account_turned_off_sends_nothing_more_and_the_default_takes_over(
        self, care_shop, twilio, shop_twilio, noon
    ):
        account = own_account(care_shop, shop_twilio, rate_per_second=None)
        with Dispatcher(channels=["sms"]) as dispatcher:
            orders_of(care_shop, 1)
            assert dict(dispatcher.batch("sms").tally) == {"sent": 1}
            account.is_active = False
            sms_account_save(account=account)
            orders_of(care_shop, 1, first=1)
            assert dict(dispatcher.batch("sms").tally) == {"sent": 1}
        assert (shop_twilio.count, twilio.count) == (1, 1)

    def test_the_daily_cap_of_the_account_moves_the_rest_to_the_next_utc_day(
        self, care_shop, twilio, shop_twilio, noon
    ):
        own_account(care_shop, shop_twilio, rate_per_second=None, daily_cap=2)
        orders = orders_of(care_shop, 3)
        assert drain(channels=["sms"]) == {"sent": 2, "capped": 1}
        held = Message.objects.get(order__in=orders, status="scheduled")
        assert held.send_at == dt.datetime(2026, 6, 11, tzinfo=UTC)
        assert held.attempts == 0
        assert "daily cap of 2 messages was reached; moved to 2026-06-11 00:00 UTC" in held.explanation
        noon.move_to(dt.datetime(2026, 6, 11, 7, 0, tzinfo=UTC))  # 09:00 in Berlin, inside the window
        assert drain(channels=["sms"]) == {"sent": 1}
        assert (shop_twilio.count, twilio.count) == (3, 0)

    def test_a_changed_rate_takes_effect_in_the_next_batch(self, care_shop, twilio, shop_twilio, noon):
        account = own_account(care_shop, shop_twilio, rate_per_second=None)
        with Dispatcher(channels=["sms"]) as dispatcher:
            orders_of(care_shop, 3)
            assert dict(dispatcher.batch("sms").tally) == {"sent": 3}
            account.rate_per_second = 1
            sms_account_save(account=account)
            orders_of(care_shop, 3, first=3)
            assert dict(dispatcher.batch("sms").tally) == {"sent": 1, "paced": 2}
        assert ProviderPace.objects.get(key=f"twilio:{SHOP_SID}:+15005550009").rate_per_second == 1

    def test_the_owner_sees_how_much_of_the_daily_cap_is_used(
        self, client, owner, care_shop, twilio, shop_twilio, noon, django_assert_max_num_queries
    ):
        own_account(care_shop, shop_twilio, rate_per_second=None, daily_cap=5)
        orders_of(care_shop, 2)
        assert drain(channels=["sms"]) == {"sent": 2}
        client.force_login(owner)
        with django_assert_max_num_queries(12):
            page = client.get("/admin/journeys/smsaccount/")
        assert page.status_code == 200
        assert "2 / 5" in page.content.decode()

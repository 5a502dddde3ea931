"""Holiday greetings: the owner approves dates of the calendar, a later `holidays` release never moves
them, each approved date of an active greeting becomes one scheduled occurrence, and the message
names the holiday in the customer's language."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from journeys.campaigns import calendar
from journeys.campaigns.calendar import FIRST_ORDER_ANNIVERSARY, Candidate
from journeys.campaigns.greetings import (
    _occurrence_create,
    calendar_approve,
    calendar_unapprove,
    greetings_schedule_due,
    holiday_greeting_create,
    holiday_greeting_set_active,
    holiday_greeting_update,
)
from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign, HolidayGreeting, ShopDate
from journeys.campaigns.selectors import CalendarDifference, calendar_review
from journeys.campaigns.tasks import greetings_schedule_due_task
from journeys.models import CareRule, MessageTemplate
from journeys.services.content import content_copy_rules_apply, content_render, message_content, message_context
from journeys.services.rules import message_template_check
from journeys.sms_encoding import sms_length
from journeys.tests.factories import CouponPoolFactory, MessageFactory
from merchant.tests.factories import CustomerFactory, MerchantFactory

pytestmark = pytest.mark.django_db

JUNE = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
UTC = dt.UTC


@pytest.fixture
def june():
    with time_machine.travel(JUNE, tick=False) as traveller:
        yield traveller


@pytest.fixture
def customers(shop):
    """A Korean and a German customer of the (US) shop."""
    return {
        "kr": CustomerFactory(shop=shop, country="KR", language="ko", first_name="민서", time_zone="Asia/Seoul"),
        "de": CustomerFactory(shop=shop, country="DE", language="de", first_name="Anna", time_zone="Europe/Berlin"),
    }


@pytest.fixture
def everyone(shop):
    return Audience.objects.create(shop=shop, name="Everyone")


def greeting_make(shop, audience, keys, **extra):
    values = {"name": "Greetings", "is_active": True, **extra}
    return holiday_greeting_create(shop=shop, audience=audience, holiday_keys=keys, **values)


def run_at(moment: dt.datetime) -> list[Campaign]:
    with time_machine.travel(moment, tick=False):
        return greetings_schedule_due()


def occurrences(greeting):
    return list(greeting.occurrences.order_by("holiday_date", "holiday_key"))


class LibrarySays:
    """Replace what the `holidays` package says about one country's holiday, as a later release might."""

    def __init__(self, monkeypatch):
        self.changes = {}
        real = calendar.country_candidates

        def patched(*, country, **kwargs):
            found = real(country=country, **kwargs)
            changed = []
            for candidate in found:
                change = self.changes.get((country, candidate.key))
                if change is None:
                    changed.append(candidate)
                elif change != "gone":
                    values = {**vars(candidate), **change}
                    values["names"] = {**candidate.names, **change.get("names", {})}
                    changed.append(Candidate(**values))
            return changed

        monkeypatch.setattr(calendar, "country_candidates", patched)


@pytest.fixture
def library(monkeypatch):
    return LibrarySays(monkeypatch)


# --- approving the calendar -----------------------------------------------------------------------


class TestApproval:
    def test_approving_stores_the_date_the_names_and_who_approved(self, shop, owner, customers):
        rows = calendar_approve(
            shop=shop,
            user=owner,
            dates=[("chuseok", dt.date(2026, 9, 25)), ("christmas_eve", dt.date(2026, 12, 24))],
            countries=["KR", "DE"],
            now=JUNE,
        )
        by_key = {row.key: row for row in rows}
        assert (by_key["chuseok"].country, by_key["chuseok"].names["ko"]) == ("KR", "추석")
        assert (by_key["christmas_eve"].country, by_key["christmas_eve"].names["de"]) == ("DE", "Heiligabend")
        assert {(row.approved_by, row.approved_at, row.source) for row in rows} == {(owner, JUNE, "calendar")}

    def test_a_key_and_date_is_approved_for_every_country_that_has_it_unless_narrowed(self, shop, owner, customers):
        rows = calendar_approve(shop=shop, user=owner, dates=[("christmas_day", dt.date(2026, 12, 25))])
        assert sorted(str(row.country) for row in rows) == ["DE", "KR", "US"]
        assert {row.names["en"] for row in rows} == {"Christmas Day"}

    def test_approving_again_changes_nothing(self, shop, owner, other_owner, customers, library):
        first = calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))], now=JUNE)
        library.changes[("KR", "chuseok")] = {"names": {"ko": "한가위", "en": "Hangawi"}}
        again = calendar_approve(
            shop=shop, user=other_owner, dates=[("chuseok", dt.date(2026, 9, 25))], now=JUNE + dt.timedelta(days=1)
        )
        assert [row.pk for row in again] == [row.pk for row in first]
        row = ApprovedHoliday.objects.get()
        assert (row.names["ko"], row.approved_by, row.approved_at) == ("추석", owner, JUNE)

    def test_an_unknown_key_or_date_is_refused_by_name_and_nothing_is_approved(self, shop, owner, customers):
        with pytest.raises(ValidationError) as refused:
            calendar_approve(
                shop=shop,
                user=owner,
                dates=[("chuseok", dt.date(2026, 9, 25)), ("chuseok", dt.date(2026, 9, 27)), ("nope", JUNE.date())],
            )
        assert "chuseok 2026-09-27" in str(refused.value.message_dict["dates"])
        assert "nope 2026-06-01" in str(refused.value.message_dict["dates"])
        assert not ApprovedHoliday.objects.exists()

    def test_a_shop_date_is_approved_for_every_country(self, shop, owner):
        friday = ShopDate.objects.create(shop=shop, name="Black Friday", kind="black_friday")
        (row,) = calendar_approve(shop=shop, user=owner, dates=[(f"shop:{friday.pk}", dt.date(2026, 11, 27))])
        assert (row.country, row.source, row.names) == ("", "shop", {"en": "Black Friday"})

    def test_the_first_order_anniversary_needs_no_approval(self, shop, owner):
        ShopDate.objects.create(shop=shop, name="Anniversary", kind="first_order_anniversary")
        review = calendar_review(shop, start=JUNE.date())
        (anniversary,) = [row for row in review.rows if row.candidate.key == FIRST_ORDER_ANNIVERSARY]
        assert anniversary.is_approved
        assert calendar_approve(shop=shop, user=owner, candidates=[anniversary.candidate]) == []

    def test_the_review_lists_each_candidate_with_its_approval(self, shop, owner, customers):
        review = calendar_review(shop, start=JUNE.date())
        chuseok = next(row for row in review.rows if row.candidate.key == "chuseok")
        assert not chuseok.is_approved
        calendar_approve(shop=shop, user=owner, candidates=[chuseok.candidate])
        review = calendar_review(shop, start=JUNE.date())
        chuseok = next(row for row in review.rows if row.candidate.key == "chuseok")
        assert chuseok.is_approved
        assert chuseok.approved.date == dt.date(2026, 9, 25)
        assert review.differences == []
        assert (review.start, review.end) == (dt.date(2026, 6, 1), dt.date(2027, 6, 1))

    def test_withdrawing_an_approval(self, shop, owner, other_shop, customers):
        (row,) = calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))])
        assert calendar_unapprove(shop=other_shop, holiday_ids=[row.pk]) == 0, "another shop's id is ignored"
        assert calendar_unapprove(shop=shop, holiday_ids=[row.pk], user=owner) == 1
        assert not ApprovedHoliday.objects.exists()

    def test_withdrawing_a_scheduled_date_withdraws_its_greeting_and_approving_again_brings_it_back(
        self, shop, owner, customers, everyone, june
    ):
        (row,) = calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))])
        greeting = greeting_make(shop, everyone, ["chuseok"])
        assert len(run_at(dt.datetime(2026, 9, 23, 1, tzinfo=UTC))) == 1
        assert calendar_unapprove(shop=shop, holiday_ids=[row.pk], user=owner) == 1
        assert occurrences(greeting) == [], "nothing was planned for it yet"
        assert run_at(dt.datetime(2026, 9, 23, 2, tzinfo=UTC)) == []
        calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))])
        assert len(run_at(dt.datetime(2026, 9, 23, 3, tzinfo=UTC))) == 1

    @pytest.mark.parametrize("status", ["planning", "sending", "paused"])
    def test_a_date_whose_greeting_is_under_way_cannot_lose_its_approval(
        self, shop, owner, customers, everyone, june, status
    ):
        (row,) = calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))])
        greeting_make(shop, everyone, ["chuseok"])
        (occurrence,) = run_at(dt.datetime(2026, 9, 23, 1, tzinfo=UTC))
        Campaign.objects.filter(pk=occurrence.pk).update(status=status)
        with pytest.raises(ValidationError) as refused:
            calendar_unapprove(shop=shop, holiday_ids=[row.pk])
        assert "cancel it first" in str(refused.value.message_dict["holidays"])
        assert ApprovedHoliday.objects.filter(pk=row.pk).exists()
        Campaign.objects.filter(pk=occurrence.pk).update(status="cancelled")
        assert calendar_unapprove(shop=shop, holiday_ids=[row.pk]) == 1

    def test_one_country_of_a_scheduled_date_may_be_withdrawn_while_others_remain(
        self, shop, owner, customers, everyone, june
    ):
        rows = calendar_approve(shop=shop, user=owner, dates=[("christmas_day", dt.date(2026, 12, 25))])
        greeting_make(shop, everyone, ["christmas_day"])
        run_at(dt.datetime(2026, 12, 23, 1, tzinfo=UTC))
        korea = next(row for row in rows if row.country == "KR")
        assert calendar_unapprove(shop=shop, holiday_ids=[korea.pk]) == 1
        assert sorted(ApprovedHoliday.objects.values_list("country", flat=True)) == ["DE", "US"]
        assert Campaign.objects.get().status == "scheduled", "it still greets Germany and the US"


# --- a later holidays release -----------------------------------------------------------------------------


class TestTheApprovedCalendarIsStableWhenTheLibraryDiffers:
    @pytest.fixture
    def approved(self, shop, owner, customers):
        (row,) = calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))], now=JUNE)
        return row

    def test_a_moved_holiday_keeps_its_approved_date_and_is_reported(self, shop, approved, library, everyone, june):
        # Given the package now puts Chuseok a day later
        library.changes[("KR", "chuseok")] = {"date": dt.date(2026, 9, 26)}
        # When the owner reviews the calendar
        review = calendar_review(shop, start=JUNE.date())
        # Then the difference is reported and the approved date stands
        (difference,) = review.differences
        assert (difference.kind, difference.approved.date, difference.now.date) == (
            CalendarDifference.MOVED,
            dt.date(2026, 9, 25),
            dt.date(2026, 9, 26),
        )
        assert "2026-09-25" in difference.description
        assert "2026-09-26" in difference.description
        moved = next(row for row in review.rows if row.candidate.key == "chuseok")
        assert (moved.candidate.date, moved.is_approved) == (dt.date(2026, 9, 26), False)
        assert ApprovedHoliday.objects.get().date == dt.date(2026, 9, 25)
        # And the greeting goes out on the approved date, not on the package's
        greeting = greeting_make(shop, everyone, ["chuseok"])
        for day in range(20, 28):
            run_at(dt.datetime(2026, 9, day, 3, tzinfo=UTC))
        assert [(o.holiday_date, o.send_on) for o in occurrences(greeting)] == [
            (dt.date(2026, 9, 25), dt.date(2026, 9, 25))
        ]

    def test_a_renamed_holiday_keeps_its_approved_name_in_messages(self, shop, approved, library, customers):
        library.changes[("KR", "chuseok")] = {"names": {"ko": "한가위"}}
        (difference,) = calendar_review(shop, start=JUNE.date()).differences
        assert (difference.kind, difference.now.names["ko"]) == (CalendarDifference.RENAMED, "한가위")
        assert ApprovedHoliday.objects.get().names["ko"] == "추석"

    def test_a_new_english_name_means_a_new_key_on_the_same_day_reported_as_renamed(self, shop, approved, library):
        library.changes[("KR", "chuseok")] = {"key": "chuseok_festival", "names": {"en": "Chuseok Festival"}}
        (difference,) = calendar_review(shop, start=JUNE.date()).differences
        assert (difference.kind, difference.now.key) == (CalendarDifference.RENAMED, "chuseok_festival")
        assert ApprovedHoliday.objects.get().key == "chuseok"

    def test_a_holiday_the_package_dropped_stays_approved_and_is_reported_gone(self, shop, approved, library):
        library.changes[("KR", "chuseok")] = "gone"
        review = calendar_review(shop, start=JUNE.date())
        (difference,) = review.differences
        assert (difference.kind, difference.now) == (CalendarDifference.GONE, None)
        assert "still approved" in difference.description
        assert not [row for row in review.rows if row.candidate.key == "chuseok"]
        assert ApprovedHoliday.objects.filter(key="chuseok").exists()

    def test_a_moved_shop_date_is_reported_too(self, shop, owner):
        party = ShopDate.objects.create(shop=shop, name="Birthday", kind="yearly", month=7, day=1)
        calendar_approve(shop=shop, user=owner, dates=[(f"shop:{party.pk}", dt.date(2026, 7, 1))])
        ShopDate.objects.filter(pk=party.pk).update(day=3)
        (difference,) = calendar_review(shop, start=JUNE.date()).differences
        assert (difference.kind, difference.now.date) == (CalendarDifference.MOVED, dt.date(2026, 7, 3))


# --- greetings ---------------------------------------------------------------------------------------------------


class TestGreetingCreate:
    def test_a_greeting_gets_its_own_marketing_rule_with_copy_in_every_language(self, shop, customers, everyone):
        greeting = holiday_greeting_create(
            shop=shop, name="Chuseok", audience=everyone, holiday_keys=["chuseok"], lead_days=1
        )
        rule = greeting.rule
        assert (rule.trigger, rule.message_class, rule.is_active, rule.channel, rule.fallback_channel) == (
            "holiday_greeting",
            "marketing",
            False,
            "sms",
            "email",
        )
        assert (greeting.is_active, greeting.lead_days, greeting.send_time) == (False, 1, dt.time(10, 0))
        variants = set(rule.templates.values_list("channel", "language"))
        assert variants == {(c, lang) for c in ("sms", "email") for lang in ("en", "de", "ru", "ko", "zh-hans")}
        email = rule.templates.get(channel="email", language="ko")
        assert "{{ holiday }}" in email.subject
        assert "links.unsubscribe" in email.html_body

    @pytest.mark.parametrize(
        ("changes", "field", "words"),
        [
            ({"name": " "}, "name", "Give the greeting a name"),
            ({"holiday_keys": []}, "holiday_keys", "at least one"),
            ({"holiday_keys": ["chuseok", "no_such_day"]}, "holiday_keys", "Unknown holiday: no_such_day"),
            ({"holiday_keys": "chuseok"}, "holiday_keys", "list of holiday keys"),
            ({"lead_days": -1}, "lead_days", "from 0 (on the day) to 30"),
            ({"lead_days": 31}, "lead_days", "from 0 (on the day) to 30"),
            ({"lead_days": "3"}, "lead_days", "whole number"),
            ({"send_time": "10:00"}, "send_time", "local time of day"),
            ({"send_time": dt.time(7, 30)}, "send_time", "between 09:00 and 20:00"),
            ({"send_time": dt.time(21, 0)}, "send_time", "between 09:00 and 20:00"),
            ({"channel": "fax"}, "channel", "Unknown channel"),
            ({"channel": "email", "fallback_channel": "email"}, "fallback_channel", "another channel"),
        ],
    )
    def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_created(
        self, shop, customers, everyone, changes, field, words
    ):
        values = {"name": "Chuseok", "audience": everyone, "holiday_keys": ["chuseok"], **changes}
        with pytest.raises(ValidationError) as refused:
            holiday_greeting_create(shop=shop, **values)
        assert words in " ".join(refused.value.message_dict[field])
        assert not HolidayGreeting.objects.exists()
        assert not CareRule.objects.filter(trigger="holiday_greeting").exists()

    def test_every_bad_field_is_named_at_once(self, shop, everyone):
        with pytest.raises(ValidationError) as refused:
            holiday_greeting_create(
                shop=shop, name="", audience=everyone, holiday_keys=["nope"], lead_days=99, send_time=dt.time(3)
            )
        assert set(refused.value.message_dict) == {"name", "holiday_keys", "lead_days", "send_time"}

    def test_the_audience_and_coupon_pool_must_be_the_shops_and_of_customers(self, shop, everyone):
        other = MerchantFactory()
        foreign = Audience.objects.create(shop=other, name="Theirs")
        orders = Audience.objects.create(shop=shop, name="Open orders", target="orders")
        for audience, words in ((foreign, "this shop's audiences"), (orders, "not orders")):
            with pytest.raises(ValidationError) as refused:
                holiday_greeting_create(shop=shop, name="X", audience=audience, holiday_keys=["christmas_day"])
            assert words in " ".join(refused.value.message_dict["audience"])
        with pytest.raises(ValidationError) as refused:
            holiday_greeting_create(
                shop=shop,
                name="X",
                audience=everyone,
                holiday_keys=["christmas_day"],
                coupon_pool=CouponPoolFactory(shop=other),
            )
        assert "coupon_pool" in refused.value.message_dict

    def test_two_greetings_of_a_shop_cannot_share_a_name(self, shop, everyone):
        holiday_greeting_create(shop=shop, name="Xmas", audience=everyone, holiday_keys=["christmas_day"])
        with pytest.raises(ValidationError) as refused:
            holiday_greeting_create(shop=shop, name="Xmas", audience=everyone, holiday_keys=["christmas_eve"])
        assert "already has a greeting" in " ".join(refused.value.message_dict["name"])

    def test_a_shop_date_and_an_approved_key_are_known_keys(self, shop, owner, everyone):
        friday = ShopDate.objects.create(shop=shop, name="Black Friday", kind="black_friday")
        ShopDate.objects.create(shop=shop, name="Anniversary", kind="first_order_anniversary")
        ApprovedHoliday.objects.create(
            shop=shop, country="KR", key="old_key", date=dt.date(2020, 1, 1), source="calendar", approved_at=JUNE
        )
        greeting = holiday_greeting_create(
            shop=shop,
            name="Mine",
            audience=everyone,
            holiday_keys=[f"shop:{friday.pk}", FIRST_ORDER_ANNIVERSARY, "old_key", "old_key"],
        )
        assert greeting.holiday_keys == [f"shop:{friday.pk}", FIRST_ORDER_ANNIVERSARY, "old_key"]

    def test_changing_a_greeting_checks_the_same_way_and_switches_its_rule(self, shop, customers, everyone):
        greeting = holiday_greeting_create(shop=shop, name="Chuseok", audience=everyone, holiday_keys=["chuseok"])
        with pytest.raises(ValidationError) as refused:
            holiday_greeting_update(greeting=greeting, lead_days=40)
        assert "lead_days" in refused.value.message_dict
        greeting = holiday_greeting_update(greeting=greeting, lead_days=2, channel="email", fallback_channel="")
        greeting = holiday_greeting_set_active(greeting=greeting, is_active=True)
        greeting.refresh_from_db()
        greeting.rule.refresh_from_db()
        assert (greeting.lead_days, greeting.is_active, greeting.rule.is_active) == (2, True, True)
        assert (greeting.rule.channel, greeting.rule.fallback_channel) == ("email", "")
        holiday_greeting_set_active(greeting=greeting, is_active=False)
        greeting.rule.refresh_from_db()
        assert greeting.rule.is_active is False

    def test_turning_a_greeting_off_withdraws_its_open_dates_and_on_again_brings_back_those_to_come(
        self, shop, owner, customers, everyone, june
    ):
        calendar_approve(
            shop=shop,
            user=owner,
            dates=[("the_day_preceding_chuseok", dt.date(2026, 9, 24)), ("chuseok", dt.date(2026, 9, 25))],
        )
        greeting = greeting_make(shop, everyone, ["the_day_preceding_chuseok", "chuseok"])
        eve, day = run_at(dt.datetime(2026, 9, 23, 1, tzinfo=UTC))
        Campaign.objects.filter(pk=eve.pk).update(status="sending", planning_started_at=JUNE)
        with time_machine.travel(dt.datetime(2026, 9, 24, 1, tzinfo=UTC), tick=False):
            holiday_greeting_set_active(greeting=greeting, is_active=False)
        assert [(o.holiday_key, o.status) for o in occurrences(greeting)] == [
            ("the_day_preceding_chuseok", "cancelled")
        ]
        holiday_greeting_set_active(greeting=greeting, is_active=True)
        (again,) = run_at(dt.datetime(2026, 9, 24, 2, tzinfo=UTC))
        assert (again.holiday_key, again.status) == ("chuseok", "scheduled")


# --- occurrences --------------------------------------------------------------------------------------------------


class TestScheduleDue:
    def test_each_approved_date_becomes_one_occurrence_across_hourly_runs_and_dst_changes(self, shop, owner, everyone):
        # Given two shop dates on the days clocks change (Europe 25 Oct 2026, the US 1 Nov 2026), approved
        fest = ShopDate.objects.create(shop=shop, name="Autumn fest", kind="yearly", month=10, day=25)
        fall = ShopDate.objects.create(shop=shop, name="Fall back", kind="yearly", month=11, day=1)
        calendar_approve(
            shop=shop,
            user=owner,
            dates=[(f"shop:{fest.pk}", dt.date(2026, 10, 25)), (f"shop:{fall.pk}", dt.date(2026, 11, 1))],
        )
        with time_machine.travel(dt.datetime(2026, 10, 1, tzinfo=UTC), tick=False):
            greeting = greeting_make(shop, everyone, [f"shop:{fest.pk}", f"shop:{fall.pk}"])
        # When the schedule runs every hour, twice at times, from 20 October to 3 November
        created_at = {}
        moment = dt.datetime(2026, 10, 20, tzinfo=UTC)
        while moment < dt.datetime(2026, 11, 3, tzinfo=UTC):
            for occurrence in run_at(moment) + run_at(moment + dt.timedelta(minutes=30)):
                created_at[occurrence.holiday_key] = moment
            moment += dt.timedelta(hours=1)
        # Then each date has exactly one occurrence, created two days ahead, at 10:00 in each customer's zone
        assert [(o.holiday_key, o.holiday_date, o.send_on, o.send_time) for o in occurrences(greeting)] == [
            (f"shop:{fest.pk}", dt.date(2026, 10, 25), dt.date(2026, 10, 25), dt.time(10, 0)),
            (f"shop:{fall.pk}", dt.date(2026, 11, 1), dt.date(2026, 11, 1), dt.time(10, 0)),
        ]
        assert created_at == {
            f"shop:{fest.pk}": dt.datetime(2026, 10, 23, tzinfo=UTC),
            f"shop:{fall.pk}": dt.datetime(2026, 10, 30, tzinfo=UTC),
        }
        first = occurrences(greeting)[0]
        assert (first.status, first.timing, first.kind, first.rule_id, first.audience_id, first.shop_id) == (
            "scheduled",
            "customer_time",
            "holiday_greeting",
            greeting.rule_id,
            everyone.pk,
            shop.pk,
        )
        assert first.name == "Greetings · Autumn fest 2026-10-25"

    def test_lead_days_send_that_many_days_before(self, shop, owner, customers, everyone):
        calendar_approve(shop=shop, user=owner, dates=[("christmas_eve", dt.date(2026, 12, 24))], countries=["DE"])
        with time_machine.travel(dt.datetime(2026, 12, 1, tzinfo=UTC), tick=False):
            greeting = greeting_make(shop, everyone, ["christmas_eve"], lead_days=3, send_time=dt.time(9, 30))
        assert run_at(dt.datetime(2026, 12, 18, 23, 59, tzinfo=UTC)) == []
        (occurrence,) = run_at(dt.datetime(2026, 12, 19, 0, 0, tzinfo=UTC))
        assert (occurrence.holiday_date, occurrence.send_on, occurrence.send_time) == (
            dt.date(2026, 12, 24),
            dt.date(2026, 12, 21),
            dt.time(9, 30),
        )
        assert run_at(dt.datetime(2026, 12, 21, 8, tzinfo=UTC)) == []
        assert len(occurrences(greeting)) == 1

    def test_black_friday_and_11_11(self, shop, owner, everyone):
        singles = ShopDate.objects.create(shop=shop, name="11.11", kind="yearly", month=11, day=11)
        friday = ShopDate.objects.create(shop=shop, name="Black Friday", kind="black_friday")
        review = calendar_review(shop, start=dt.date(2026, 11, 1))
        shop_rows = [row.candidate for row in review.rows if row.candidate.source == "shop"]
        assert [(c.key, c.date) for c in shop_rows] == [
            (f"shop:{singles.pk}", dt.date(2026, 11, 11)),
            (f"shop:{friday.pk}", dt.date(2026, 11, 27)),
        ]
        calendar_approve(shop=shop, user=owner, candidates=shop_rows)
        with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=UTC), tick=False):
            greeting = greeting_make(shop, everyone, [f"shop:{singles.pk}", f"shop:{friday.pk}"])
        for day in range(1, 30):
            run_at(dt.datetime(2026, 11, day, 12, tzinfo=UTC))
        assert [(o.holiday_date, o.send_on) for o in occurrences(greeting)] == [
            (dt.date(2026, 11, 11), dt.date(2026, 11, 11)),
            (dt.date(2026, 11, 27), dt.date(2026, 11, 27)),
        ]

    def test_the_first_order_anniversary_has_one_occurrence_per_day(self, shop, everyone):
        ShopDate.objects.create(shop=shop, name="A year with us", kind="first_order_anniversary")
        with time_machine.travel(dt.datetime(2026, 12, 6, tzinfo=UTC), tick=False):
            greeting = greeting_make(shop, everyone, [FIRST_ORDER_ANNIVERSARY], lead_days=1)
        assert len(run_at(dt.datetime(2026, 12, 6, 5, tzinfo=UTC))) == 3
        assert run_at(dt.datetime(2026, 12, 6, 6, tzinfo=UTC)) == []
        assert len(run_at(dt.datetime(2026, 12, 7, 5, tzinfo=UTC))) == 1
        assert [(o.holiday_date, o.send_on) for o in occurrences(greeting)] == [
            (dt.date(2026, 12, 7 + n), dt.date(2026, 12, 6 + n)) for n in range(4)
        ]
        assert occurrences(greeting)[0].name == "Greetings · A year with us 2026-12-07"

    def test_an_inactive_greeting_or_a_passed_date_plans_nothing(self, shop, owner, customers, everyone, june):
        calendar_approve(
            shop=shop,
            user=owner,
            dates=[("chuseok", dt.date(2026, 9, 25)), ("the_day_preceding_chuseok", dt.date(2026, 9, 24))],
        )
        greeting = greeting_make(shop, everyone, ["chuseok", "the_day_preceding_chuseok"], is_active=False)
        assert run_at(dt.datetime(2026, 9, 24, 12, tzinfo=UTC)) == []
        holiday_greeting_set_active(greeting=greeting, is_active=True)
        # The day before Chuseok is today (UTC) and still greeted; nothing for days already gone.
        created = run_at(dt.datetime(2026, 9, 24, 12, tzinfo=UTC))
        assert sorted(o.holiday_key for o in created) == ["chuseok", "the_day_preceding_chuseok"]
        assert run_at(dt.datetime(2026, 9, 26, 0, tzinfo=UTC)) == []

    def test_only_approved_dates_are_used_never_the_package(self, shop, customers, everyone, june):
        greeting = greeting_make(shop, everyone, ["chuseok"])
        assert run_at(dt.datetime(2026, 9, 24, tzinfo=UTC)) == []
        assert occurrences(greeting) == []

    def test_a_concurrent_run_that_created_the_occurrence_first_is_not_an_error(self, shop, owner, customers, everyone):
        calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))])
        with time_machine.travel(JUNE, tick=False):
            greeting = greeting_make(shop, everyone, ["chuseok"])
        names = {"en": "Chuseok"}
        assert _occurrence_create(greeting=greeting, key="chuseok", date=dt.date(2026, 9, 25), names=names)
        assert _occurrence_create(greeting=greeting, key="chuseok", date=dt.date(2026, 9, 25), names=names) is None
        assert run_at(dt.datetime(2026, 9, 24, tzinfo=UTC)) == []
        assert len(occurrences(greeting)) == 1

    def test_the_hourly_task_calls_the_service(self, shop, owner, customers, everyone):
        calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))])
        with time_machine.travel(JUNE, tick=False):
            greeting_make(shop, everyone, ["chuseok"])
        with time_machine.travel(dt.datetime(2026, 9, 24, tzinfo=UTC), tick=False):
            assert greetings_schedule_due_task() == 1
            assert greetings_schedule_due_task() == 0


# --- the message ------------------------------------------------------------------------------------------------


class TestGreetingMessages:
    @pytest.fixture
    def occurrence(self, shop, owner, customers, everyone, june):
        shop.name = "Alpha Shoes"
        shop.save()
        calendar_approve(shop=shop, user=owner, dates=[("chuseok", dt.date(2026, 9, 25))])
        greeting_make(shop, everyone, ["chuseok"])
        (occurrence,) = run_at(dt.datetime(2026, 9, 23, tzinfo=UTC))
        return occurrence

    def message(self, occurrence, customer, language, channel="sms"):
        return MessageFactory(
            shop=occurrence.shop,
            customer=customer,
            rule=occurrence.rule,
            campaign=occurrence,
            trigger="holiday_greeting",
            channel=channel,
            language=language,
            message_class="marketing",
            time_zone=customer.time_zone,
        )

    def test_the_korean_customer_is_greeted_with_the_korean_name(self, occurrence, customers):
        content = message_content(self.message(occurrence, customers["kr"], "ko"))
        assert content.body == "(광고) Alpha Shoes: 민서님, 즐거운 추석 보내세요! 수신거부: '수신거부' 회신"
        assert content.segments == 1

    def test_a_language_without_a_name_falls_back_to_english(self, occurrence, customers):
        content = message_content(self.message(occurrence, customers["de"], "de"))
        assert content.body == "Alpha Shoes: Hallo Anna, herzliche Grüße zu Chuseok! Abmelden: STOPP antworten"

    def test_the_email_names_the_holiday_in_subject_and_body_with_an_unsubscribe_link(self, occurrence, customers):
        content = message_content(self.message(occurrence, customers["kr"], "ko", channel="email"))
        assert content.subject == "즐거운 추석 보내세요 - Alpha Shoes"
        assert "즐거운 추석 보내시길" in content.html_body
        assert "/u/" in content.html_body

    def test_the_context_has_the_holiday_and_the_campaign(self, occurrence, customers):
        context = message_context(self.message(occurrence, customers["kr"], "ko"))
        assert (context["holiday"], context["campaign"]) == ("추석", "Greetings · Chuseok 2026-09-25")

    def test_order_care_messages_have_an_empty_holiday_and_campaign(self, shop, customers):
        message = MessageFactory(shop=shop, customer=customers["de"])
        context = message_context(message)
        assert (context["holiday"], context["campaign"]) == ("", "")

    def test_the_holiday_names_are_read_once_per_loaded_campaign(
        self, occurrence, customers, django_assert_num_queries
    ):
        messages = [self.message(occurrence, customers["kr"], "ko") for _ in range(3)]
        for message in messages:
            message.campaign = occurrence  # as the dispatcher loads one campaign object per batch
        message_context(messages[0])
        with django_assert_num_queries(0):
            names = [message_context(message)["holiday"] for message in messages[1:]]
        assert names == ["추석", "추석"]

    def test_templates_may_use_holiday_and_campaign_but_not_a_misspelling(self, occurrence):
        template = MessageTemplate(
            rule=occurrence.rule, channel="sms", language="en", body="{{ holiday }} {{ campaign }}"
        )
        message_template_check(template)
        template.body = "{{ holliday }}"
        with pytest.raises(ValidationError, match="holliday"):
            message_template_check(template)

    @pytest.mark.parametrize(
        ("language", "first_name", "holiday", "segments", "with_coupon"),
        [
            ("en", "Anna", "Christmas Eve", 1, 1),
            ("de", "Anna", "Heiligabend", 1, 1),
            ("zh-hans", "娟", "平安夜", 1, 1),
            # Korean and Cyrillic are UCS-2 (70 characters), and the law's "(광고)" and the opt-out
            # hint take a third of that: one part without a coupon, two with one.
            ("ko", "민서", "크리스마스 이브", 1, 2),
            ("ru", "Анна", "Сочельник", 1, 2),
        ],
    )
    def test_the_default_sms_fits_one_segment_where_the_script_allows(
        self, shop, everyone, language, first_name, holiday, segments, with_coupon
    ):
        # Given the shipped copy of a greeting of a shop with a typical name
        shop.name = "Alpha Shoes"
        shop.save()
        greeting = holiday_greeting_create(shop=shop, name="Xmas", audience=everyone, holiday_keys=["christmas_day"])
        template = greeting.rule.templates.get(channel="sms", language=language)
        context = {"customer": {"first_name": first_name}, "holiday": holiday, "shop": {"name": shop.name}}

        def sms(context):
            content = content_render(template, context, time_zone="UTC")
            return content_copy_rules_apply(content, channel="sms", message_class="marketing", shop=shop)[0].body

        # Then the text, with the signature and opt-out hint the copy rules add, names the holiday and the customer
        body = sms(context)
        assert holiday in body
        assert first_name in body
        assert sms_length(body).segments == segments, body
        coupon = sms({**context, "coupon": "XMAS-7F3K"})
        assert "XMAS-7F3K" in coupon
        assert sms_length(coupon).segments == with_coupon, coupon

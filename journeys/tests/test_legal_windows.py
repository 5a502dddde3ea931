"""Legal windows for marketing, intersected with the rule's window, on the customer's wall clock:
US 08:00–21:00 with stricter states by area code, France without Sundays and public holidays,
across daylight saving time changes; applied by the planner and again by the dispatcher."""

import datetime as dt

import pytest
import time_machine

from journeys.legal_windows import (
    hours_allow,
    hours_next_allowed,
    legal_window_for,
    us_state_of,
)
from journeys.models import Message
from journeys.send_windows import SendWindow
from journeys.tests.twilio_posts import drain, shipped_order

UTC = dt.UTC
NINE_TO_EIGHT = SendWindow(dt.time(9), dt.time(20))
ALL_DAY = SendWindow(dt.time(0), dt.time(23, 59))
FRANCE = legal_window_for(country="FR")
CONSENT = dt.datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class TestTheTable:
    @pytest.mark.parametrize(
        ("phone", "state", "closes"),
        [
            ("+13055550100", "FL", dt.time(20)),  # Miami
            ("+12065550100", "WA", dt.time(20)),  # Seattle
            ("+12035550100", "CT", dt.time(20)),
            ("+12125550100", "", dt.time(21)),  # New York: the federal window
            ("+4915112345678", "", dt.time(21)),  # not a US number
            ("", "", dt.time(21)),
        ],
    )
    def test_a_us_customers_state_comes_from_the_area_code(self, phone, state, closes):
        assert us_state_of(phone) == state
        legal = legal_window_for(country="US", phone=phone)
        assert (legal.window.start, legal.window.end) == (dt.time(8), closes)

    def test_countries_without_a_legal_window_have_only_the_rules_window(self):
        assert legal_window_for(country="JP") is None
        assert legal_window_for(country="") is None


class TestFrance:
    def test_saturday_evening_waits_past_sunday_to_monday_morning(self):
        saturday_21_paris = utc(2026, 6, 13, 19, 0)
        assert hours_next_allowed(NINE_TO_EIGHT, FRANCE, saturday_21_paris, "Europe/Paris") == utc(2026, 6, 15, 7, 0)

    def test_bastille_day_is_skipped(self):
        monday_evening = utc(2026, 7, 13, 19, 0)  # 21:00 Paris; Tuesday 14 July is a public holiday
        assert hours_next_allowed(NINE_TO_EIGHT, FRANCE, monday_evening, "Europe/Paris") == utc(2026, 7, 15, 7, 0)
        assert not hours_allow(NINE_TO_EIGHT, FRANCE, utc(2026, 7, 14, 10, 0), "Europe/Paris")

    def test_the_sunday_clocks_go_forward_is_skipped_and_monday_opens_at_nine_summer_time(self):
        saturday_late = utc(2026, 3, 28, 21, 30)  # 22:30 CET, then Sunday 29 March: DST starts
        assert hours_next_allowed(NINE_TO_EIGHT, FRANCE, saturday_late, "Europe/Paris") == utc(2026, 3, 30, 7, 0)

    def test_the_french_window_runs_to_22_when_the_rule_allows_it(self):
        late_rule = SendWindow(dt.time(9), dt.time(23))
        assert hours_allow(late_rule, FRANCE, utc(2026, 6, 10, 19, 30), "Europe/Paris"), "21:30 Paris"
        assert not hours_allow(late_rule, FRANCE, utc(2026, 6, 10, 20, 0), "Europe/Paris"), "22:00 Paris"


class TestUnitedStates:
    def test_florida_closes_at_20_while_new_york_numbers_get_until_21(self):
        evening = utc(2026, 6, 10, 0, 30)  # 20:30 EDT on 9 June
        rule = SendWindow(dt.time(9), dt.time(22))
        florida = legal_window_for(country="US", phone="+13055550100")
        federal = legal_window_for(country="US", phone="+12125550100")
        assert hours_allow(rule, federal, evening, "America/New_York")
        assert not hours_allow(rule, florida, evening, "America/New_York")
        assert hours_next_allowed(rule, florida, evening, "America/New_York") == utc(2026, 6, 10, 13, 0)

    def test_the_morning_the_clocks_spring_forward_opens_at_8_daylight_time(self):
        saturday_night = utc(2026, 3, 8, 2, 30)  # 21:30 EST, 7 March; clocks go forward at 02:00
        federal = legal_window_for(country="US")
        assert hours_next_allowed(ALL_DAY, federal, saturday_night, "America/New_York") == utc(2026, 3, 8, 12, 0)

    def test_the_morning_the_clocks_fall_back_opens_at_8_standard_time(self):
        saturday_night = utc(2026, 11, 1, 1, 30)  # 21:30 EDT, 31 October
        federal = legal_window_for(country="US")
        assert hours_next_allowed(ALL_DAY, federal, saturday_night, "America/New_York") == utc(2026, 11, 1, 13, 0)


class TestIntersection:
    def test_a_rule_open_at_night_meets_the_legal_window_only_in_the_evening(self):
        night_rule = SendWindow(dt.time(20), dt.time(9))
        germany = legal_window_for(country="DE")
        noon_berlin = utc(2026, 6, 10, 10, 0)
        assert hours_next_allowed(night_rule, germany, noon_berlin, "Europe/Berlin") == utc(2026, 6, 10, 18, 0)
        half_past_nine_berlin = utc(2026, 6, 10, 19, 30)
        assert hours_next_allowed(night_rule, germany, half_past_nine_berlin, "Europe/Berlin") == utc(
            2026, 6, 11, 6, 0
        ), "08:00 next morning, still inside the rule's 20:00–09:00"

    def test_windows_that_never_meet_are_an_error_naming_both(self):
        with pytest.raises(ValueError, match="22:00–07:00 never meets the legal window DE 08:00–21:00"):
            hours_next_allowed(
                SendWindow(dt.time(22), dt.time(7)), legal_window_for(country="DE"), utc(2026, 6, 10), "Europe/Berlin"
            )


@pytest.mark.django_db
class TestPlannedAndSent:
    def test_a_marketing_text_planned_on_a_french_sunday_moves_to_monday_and_says_why(self, care_shop, rules):
        rule = rules["shipped"]
        rule.message_class, rule.fallback_channel = "marketing", ""
        rule.save()
        sunday_noon_paris = utc(2026, 6, 14, 10, 0)
        with time_machine.travel(sunday_noon_paris, tick=False):
            order = shipped_order(
                care_shop,
                phone="+33612345678",
                country="FR",
                time_zone="Europe/Paris",
                sms_marketing_consent_at=CONSENT,
            )
        message = Message.objects.get(order=order, trigger="shipped")
        assert message.send_at == utc(2026, 6, 15, 7, 0)
        assert (
            "Moved to 15 Jun 09:00 Europe/Paris by the send window (09:00–20:00 and the legal window for "
            "marketing, FR 08:00–22:00, no Sundays, no public holidays)." in message.explanation
        )

    def test_a_transactional_text_on_a_french_sunday_goes_at_once(self, care_shop):
        sunday_noon_paris = utc(2026, 6, 14, 10, 0)
        with time_machine.travel(sunday_noon_paris, tick=False):
            order = shipped_order(care_shop, phone="+33612345678", country="FR", time_zone="Europe/Paris")
        assert Message.objects.get(order=order, trigger="shipped").send_at == sunday_noon_paris

    def test_the_dispatcher_holds_a_marketing_text_that_became_due_on_a_holiday(self, care_shop, rules, twilio):
        rule = rules["shipped"]
        rule.message_class, rule.fallback_channel = "marketing", ""
        rule.save()
        with time_machine.travel(utc(2026, 7, 13, 10, 0), tick=False):
            order = shipped_order(
                care_shop,
                phone="+33612345678",
                country="FR",
                time_zone="Europe/Paris",
                sms_marketing_consent_at=CONSENT,
            )
        Message.objects.filter(order=order).update(send_at=utc(2026, 7, 14, 8, 0))
        with time_machine.travel(utc(2026, 7, 14, 10, 0), tick=False):
            assert drain() == {"window": 1}
        message = Message.objects.get(order=order, trigger="shipped")
        assert message.send_at == utc(2026, 7, 15, 7, 0)
        assert "no public holidays); moved to 15 Jul 09:00 Europe/Paris." in message.explanation
        assert twilio.count == 0

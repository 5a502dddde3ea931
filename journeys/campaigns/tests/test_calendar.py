"""The greeting calendar: candidate dates from the `holidays` package for the countries a shop's customers
live in, with their names in the customers' languages, plus the shop's own dates; and the admin's
per-date view of the approved calendar with how many customers each date would greet."""

import datetime as dt
from types import SimpleNamespace

import holidays
import pytest

from journeys.campaigns import calendar
from journeys.campaigns.calendar import (
    FIRST_ORDER_ANNIVERSARY,
    Category,
    UnknownSubdivision,
    black_friday,
    calendar_candidates,
    calendar_countries,
    calendar_languages,
    holiday_key,
)
from journeys.campaigns.models import ApprovedHoliday, Audience, ShopDate
from journeys.campaigns.selectors import approved_calendar_list
from merchant.tests.factories import CustomerFactory, OrderFactory, TagFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def find(candidates, *, key, country=None, date=None):
    found = [
        c
        for c in candidates
        if c.key == key and (country is None or c.country == country) and (date is None or c.date == date)
    ]
    assert found, f"no candidate {key} {country or ''} {date or ''}"
    return found


def customer(shop, country, language, **extra):
    return CustomerFactory(shop=shop, country=country, language=language, **extra)


class TestCandidatesFromTheHolidaysPackage:
    def test_a_korean_customer_brings_chuseok_with_its_korean_name(self, shop):
        # Given a US shop with one customer in Korea who reads Korean
        customer(shop, "KR", "ko", time_zone="Asia/Seoul")
        # When the owner opens the calendar from June 2026
        found = calendar_candidates(shop=shop, start=dt.date(2026, 6, 1)).candidates
        # Then Chuseok 2026 is there, keyed "chuseok", named in Korean and English
        (chuseok,) = find(found, key="chuseok", country="KR")
        assert (chuseok.date, chuseok.names["en"], chuseok.names["ko"]) == (dt.date(2026, 9, 25), "Chuseok", "추석")
        assert (chuseok.source, chuseok.category, chuseok.estimated) == ("calendar", Category.PUBLIC, False)
        assert chuseok.source_version == f"holidays {holidays.__version__}"

    def test_a_german_customer_brings_christmas_eve_as_heiligabend(self, shop):
        customer(shop, "DE", "de", time_zone="Europe/Berlin")
        found = calendar_candidates(shop=shop, start=dt.date(2026, 12, 1)).candidates
        (eve,) = find(found, key="christmas_eve", country="DE")
        assert (eve.date, eve.names["de"], eve.names["en"]) == (dt.date(2026, 12, 24), "Heiligabend", "Christmas Eve")
        # The package has no German Christmas Eve in any category it offers for Germany (public,
        # catholic, school): the supplement provides it.
        assert eve.category == Category.SUPPLEMENT
        assert "unofficial" not in holidays.country_holidays("DE").supported_categories
        german = holidays.country_holidays("DE", years=2026, observed=False, categories=("public", "catholic"))
        assert dt.date(2026, 12, 24) not in german

    def test_the_us_christmas_eve_comes_from_the_packages_unofficial_holidays_and_is_not_doubled(self, shop):
        found = calendar_candidates(shop=shop, start=dt.date(2026, 12, 1)).candidates
        (eve,) = find(found, key="christmas_eve", country="US")
        assert eve.category == Category.UNOFFICIAL
        assert find(found, key="valentines_day", country="US")[0].category == Category.UNOFFICIAL
        assert find(found, key="christmas_day", country="US")[0].category == Category.PUBLIC

    def test_the_shop_and_its_customers_countries_and_languages_are_used(self, shop):
        customer(shop, "KR", "ko")
        customer(shop, "DE", "de")
        customer(shop, "DE", "")
        customer(shop, "", "ru")
        assert calendar_countries(shop) == ["DE", "KR", "US"]
        assert calendar_languages(shop) == ["en", "de", "ko", "ru"]

    def test_a_language_the_package_lacks_for_a_country_is_left_out_for_english_to_stand_in(self, shop):
        customer(shop, "KR", "ko")
        customer(shop, "DE", "de")
        found = calendar_candidates(shop=shop, start=dt.date(2026, 6, 1)).candidates
        (chuseok,) = find(found, key="chuseok")
        assert set(chuseok.names) == {"en", "ko"}, "the package has no German names for Korea"
        (unity,) = find(found, key="german_unity_day")
        assert set(unity.names) == {"en", "de"}

    def test_greetings_go_on_the_day_itself_never_on_the_observed_day_off(self, shop):
        # 4 July 2027 is a Sunday; the observed day off is Monday 5 July.
        found = calendar_candidates(shop=shop, start=dt.date(2027, 6, 1), end=dt.date(2027, 8, 1)).candidates
        assert [c.date for c in find(found, key="independence_day", country="US")] == [dt.date(2027, 7, 4)]
        assert not [c for c in found if c.date == dt.date(2027, 7, 5)]
        assert not [c for c in found if "observed" in c.name.lower()]

    def test_a_key_is_the_same_every_year(self, shop):
        customer(shop, "KR", "ko")
        found = calendar_candidates(shop=shop, start=dt.date(2026, 9, 1), end=dt.date(2027, 10, 1)).candidates
        assert [c.date for c in find(found, key="chuseok")] == [dt.date(2026, 9, 25), dt.date(2027, 9, 15)]

    def test_twelve_months_from_the_start_by_default(self, shop):
        window = calendar_candidates(shop=shop, start=dt.date(2026, 12, 6))
        assert (window.start, window.end) == (dt.date(2026, 12, 6), dt.date(2027, 12, 6))
        assert all(window.start <= c.date < window.end for c in window.candidates)
        assert [c.date for c in find(window.candidates, key="christmas_day")] == [dt.date(2026, 12, 25)]

    def test_a_lunar_date_the_package_estimates_is_flagged_and_named_without_the_label(self, shop):
        customer(shop, "AE", "en")
        found = calendar_candidates(shop=shop, start=dt.date(2027, 1, 1)).candidates
        (eid,) = find(found, key="eid_al_fitr", country="AE")
        assert eid.estimated is True
        assert eid.names["en"] == "Eid al-Fitr"

    def test_a_day_off_moved_from_a_weekend_is_not_a_holiday_to_greet(self, shop):
        customer(shop, "RU", "ru")
        russian = holidays.country_holidays("RU", years=2026, observed=False, language="en_US")
        assert "substituted" in russian.get(dt.date(2026, 12, 31)), "the package lists it"
        found = calendar_candidates(shop=shop, start=dt.date(2026, 12, 1), end=dt.date(2027, 1, 1)).candidates
        assert not [c for c in found if c.country == "RU" and c.date == dt.date(2026, 12, 31)]

    def test_russian_names_come_from_the_package(self, shop):
        customer(shop, "RU", "ru")
        found = calendar_candidates(shop=shop, start=dt.date(2027, 1, 1)).candidates
        (victory,) = find(found, key="victory_day", country="RU")
        assert victory.names == {"en": "Victory Day", "ru": "День Победы"}

    def test_a_subdivision_adds_the_days_only_it_has(self, shop):
        customer(shop, "DE", "de")
        national = calendar_candidates(shop=shop, start=dt.date(2026, 12, 6)).candidates
        assert not [c for c in national if c.key == "epiphany"]
        found = calendar_candidates(shop=shop, start=dt.date(2026, 12, 6), subdivisions=["DE-BY"]).candidates
        (epiphany,) = find(found, key="epiphany")
        assert (epiphany.date, epiphany.country, epiphany.subdivision) == (dt.date(2027, 1, 6), "DE", "DE-BY")
        assert epiphany.names["de"] == "Heilige Drei Könige"
        assert len(find(found, key="christmas_day", country="DE")) == 1, "national days are not repeated"

    def test_an_unknown_subdivision_is_refused_by_name(self, shop):
        with pytest.raises(UnknownSubdivision, match="DE-XX"):
            calendar_candidates(shop=shop, start=dt.date(2026, 12, 6), subdivisions=["DE-XX"])

    def test_a_country_the_package_does_not_know_is_reported_not_raised(self, shop, monkeypatch):
        customer(shop, "KR", "ko")
        real = calendar.country_candidates

        def without_korea(*, country, **kwargs):
            if country == "KR":
                raise NotImplementedError(country)
            return real(country=country, **kwargs)

        monkeypatch.setattr(calendar, "country_candidates", without_korea)
        window = calendar_candidates(shop=shop, start=dt.date(2026, 6, 1))
        assert window.unsupported_countries == ("KR",)
        assert not [c for c in window.candidates if c.country == "KR"]

    @pytest.mark.parametrize(
        ("name", "key"),
        [
            ("Christmas Eve", "christmas_eve"),
            ("New Year's Day", "new_years_day"),
            ("The day preceding Chuseok", "the_day_preceding_chuseok"),
            ("Martin Luther King Jr. Day", "martin_luther_king_jr_day"),
            ("Día de la Hispanidad", "dia_de_la_hispanidad"),
        ],
    )
    def test_keys_are_made_from_the_english_name(self, name, key):
        assert holiday_key(name) == key

    def test_a_name_without_latin_letters_gets_a_stable_key(self):
        assert holiday_key("추석") == holiday_key("추석")
        assert holiday_key("추석").startswith("h_")
        assert holiday_key("추석") != holiday_key("설날")


class TestShopDates:
    def test_black_friday_is_the_day_after_the_fourth_thursday_of_november(self):
        assert black_friday(2026) == dt.date(2026, 11, 27)
        assert black_friday(2025) == dt.date(2025, 11, 28)
        assert black_friday(2027) == dt.date(2027, 11, 26)
        assert black_friday(2030) == dt.date(2030, 11, 29)

    def test_the_shops_own_dates_are_candidates_for_every_country(self, shop):
        singles = ShopDate.objects.create(shop=shop, name="11.11", kind="yearly", month=11, day=11)
        friday = ShopDate.objects.create(shop=shop, name="Black Friday", kind="black_friday", names={"de": "BF"})
        found = calendar_candidates(shop=shop, start=dt.date(2026, 11, 1)).candidates
        (day,) = find(found, key=f"shop:{singles.pk}")
        (bf,) = find(found, key=f"shop:{friday.pk}")
        assert (day.date, day.country, day.source, day.category) == (dt.date(2026, 11, 11), "", "shop", "shop")
        assert (bf.date, bf.names) == (dt.date(2026, 11, 27), {"en": "Black Friday", "de": "BF"})

    def test_next_years_date_appears_when_this_years_is_past(self, shop):
        singles = ShopDate.objects.create(shop=shop, name="11.11", kind="yearly", month=11, day=11)
        found = calendar_candidates(shop=shop, start=dt.date(2026, 12, 6)).candidates
        assert [c.date for c in find(found, key=f"shop:{singles.pk}")] == [dt.date(2027, 11, 11)]

    def test_29_february_falls_on_the_28th_in_other_years(self, shop):
        leap = ShopDate.objects.create(shop=shop, name="Leap", kind="yearly", month=2, day=29)
        found = calendar_candidates(shop=shop, start=dt.date(2026, 12, 6)).candidates
        assert [c.date for c in find(found, key=f"shop:{leap.pk}")] == [dt.date(2027, 2, 28)]

    def test_the_first_order_anniversary_is_one_candidate_meaning_every_day(self, shop):
        ShopDate.objects.create(shop=shop, name="Your anniversary with us", kind="first_order_anniversary")
        found = calendar_candidates(shop=shop, start=dt.date(2026, 12, 6)).candidates
        (anniversary,) = find(found, key=FIRST_ORDER_ANNIVERSARY)
        assert (anniversary.every_day, anniversary.country, anniversary.date) == (True, "", dt.date(2026, 12, 6))


class TestApprovedCalendarView:
    def approve(self, shop, country, key, date, name):
        return ApprovedHoliday.objects.create(
            shop=shop,
            country=country,
            key=key,
            date=date,
            names={"en": name},
            source="calendar" if country else "shop",
            approved_at=NOW,
        )

    def test_each_date_shows_its_holidays_countries_and_customers_to_greet(self, shop):
        for _ in range(3):
            customer(shop, "KR", "ko")
        for _ in range(2):
            customer(shop, "DE", "de")
        customer(shop, "US", "en")
        self.approve(shop, "KR", "chuseok", dt.date(2026, 9, 25), "Chuseok")
        self.approve(shop, "DE", "christmas_day", dt.date(2026, 12, 25), "Christmas Day")
        self.approve(shop, "US", "christmas_day", dt.date(2026, 12, 25), "Christmas Day")
        self.approve(shop, "", "shop:1", dt.date(2026, 11, 11), "11.11")
        days = approved_calendar_list(shop=shop, start=dt.date(2026, 9, 1), now=NOW)
        assert [(d.date, d.countries, d.everyone, d.customers) for d in days] == [
            (dt.date(2026, 9, 25), ("KR",), False, 3),
            (dt.date(2026, 11, 11), (), True, 6),
            (dt.date(2026, 12, 25), ("DE", "US"), False, 3),
        ]
        assert [h.key for h in days[2].holidays] == ["christmas_day", "christmas_day"]

    def test_with_a_greeting_only_its_holidays_and_audience_count(self, shop):
        vip = TagFactory(shop=shop, name="vip")
        regular = customer(shop, "KR", "ko")
        tagged = customer(shop, "KR", "ko")
        tagged.tags.add(vip)
        loyal = customer(shop, "KR", "ko")
        loyal.tags.add(vip)
        for _ in range(2):
            OrderFactory(shop=shop, customer=loyal, placed_at=NOW - dt.timedelta(days=40))
        OrderFactory(shop=shop, customer=regular, placed_at=NOW - dt.timedelta(days=40))
        self.approve(shop, "KR", "chuseok", dt.date(2027, 9, 15), "Chuseok")
        self.approve(shop, "KR", "hangul_day", dt.date(2027, 10, 9), "Hangul Day")
        audience = Audience.objects.create(shop=shop, name="VIP", min_orders=2, ordered_within_months=3)
        audience.tags.add(vip)
        greeting = SimpleNamespace(holiday_keys=["chuseok"], audience=audience)
        # Only the loyal customer: tagged, two orders, the last within three months.
        days = approved_calendar_list(shop=shop, start=dt.date(2027, 1, 1), greeting=greeting, now=NOW)
        assert [(d.date, d.customers) for d in days] == [(dt.date(2027, 9, 15), 1)]
        audience.min_orders, audience.ordered_within_months = 0, None
        audience.save()
        days = approved_calendar_list(shop=shop, start=dt.date(2027, 1, 1), greeting=greeting, now=NOW)
        assert [(d.date, d.customers) for d in days] == [(dt.date(2027, 9, 15), 2)], "every tagged customer"

    def test_counting_costs_the_same_queries_for_2_or_20_dates(self, shop, django_assert_num_queries):
        customer(shop, "KR", "ko")
        customer(shop, "DE", "de")
        for n in range(20):
            self.approve(shop, ("KR", "DE", "US", "")[n % 4], f"day_{n}", dt.date(2027, 1, 1 + n), f"Day {n}")
        with django_assert_num_queries(3):
            days = approved_calendar_list(shop=shop, start=dt.date(2026, 12, 6), now=NOW)
        assert len(days) == 20
        assert {d.customers for d in days} == {0, 1, 2}

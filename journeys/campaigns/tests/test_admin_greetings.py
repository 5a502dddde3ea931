"""Holiday greetings, shop dates and the approved calendar as a shop owner uses them in the admin: the
review of the next twelve months approves and withdraws dates, the calendar shows per date whom it would
greet, and greetings are created, changed and turned on and off through the services."""

import datetime as dt

import pytest

from journeys.campaigns.greetings import holiday_greeting_set_active
from journeys.campaigns.models import ApprovedHoliday, Campaign, HolidayGreeting, ShopDate
from journeys.campaigns.tests.conftest import admin_url, customer, messages_of
from journeys.models import CareRule

pytestmark = pytest.mark.django_db

CHUSEOK = "KR||chuseok|2026-09-25"
CHRISTMAS_EVE = "DE||christmas_eve|2026-12-24"


def greeting_form(rows, **changes) -> dict:
    return {
        "shop": rows.shop.pk,
        "name": "Season's greetings",
        "audience": rows.audience.pk,
        "holiday_keys": ["chuseok"],
        "lead_days": "0",
        "send_time": "10:00",
        "channel": "sms",
        "fallback_channel": "email",
        "coupon_pool": "",
        "is_active": "on",
        **changes,
    }


# --- the review ----------------------------------------------------------------------------------------


class TestReview:
    def test_lists_the_next_twelve_months_by_month_for_the_customers_countries(self, client, owner, mine):
        client.force_login(owner)
        page = client.get(admin_url("approvedholiday", "review"))
        months = page.context["months"]
        assert next(iter(months)) == dt.date(2026, 6, 1)
        assert list(months)[-1] == dt.date(2027, 5, 1)
        items = [item for rows in months.values() for item in rows]
        by_slot = {item["slot"]: item for item in items}
        assert by_slot[CHUSEOK]["row"].is_approved, "approved by the fixture"
        assert not by_slot[CHRISTMAS_EVE]["row"].is_approved
        assert by_slot[CHRISTMAS_EVE]["local_names"] == ["Heiligabend", "크리스마스 이브"]
        assert {item["row"].candidate.country for item in items} == {"KR", "DE", "US", ""}, "and the shop's date"
        html = page.content.decode()
        assert f'value="{CHUSEOK}"' in html
        assert "checked" in html.split(f'value="{CHUSEOK}"')[1][:120]
        assert "Heiligabend" in html
        assert "추석" in html

    def test_ticking_approves_and_unticking_withdraws(self, client, owner, mine):
        client.force_login(owner)
        shown = f"{mine.holiday.pk}|{CHUSEOK}"
        response = client.post(
            admin_url("approvedholiday", "review"), {"approve": [CHUSEOK, CHRISTMAS_EVE], "approved": [shown]}
        )
        assert response.status_code == 302
        assert messages_of(response) == ["1 date approved."]
        eve = ApprovedHoliday.objects.get(shop=mine.shop, key="christmas_eve")
        assert (str(eve.country), eve.date, eve.names["de"], eve.approved_by) == (
            "DE", dt.date(2026, 12, 24), "Heiligabend", owner,
        )  # fmt: skip
        response = client.post(
            admin_url("approvedholiday", "review"),
            {"approve": [CHRISTMAS_EVE], "approved": [shown, f"{eve.pk}|{CHRISTMAS_EVE}"]},
        )
        assert messages_of(response)[-1] == "1 date withdrawn."
        assert not ApprovedHoliday.objects.filter(pk=mine.holiday.pk).exists()
        assert ApprovedHoliday.objects.filter(pk=eve.pk).exists()

    def test_a_date_under_way_is_not_withdrawn_and_the_page_says_why(self, client, owner, mine):
        Campaign.objects.create(
            shop=mine.shop, name="Chuseok", kind="holiday_greeting", rule=mine.greeting.rule, audience=mine.audience,
            greeting=mine.greeting, holiday_key="chuseok", holiday_date=dt.date(2026, 9, 25),
            send_on=dt.date(2026, 9, 25), status="sending",
        )  # fmt: skip
        client.force_login(owner)
        response = client.post(admin_url("approvedholiday", "review"), {"approved": [f"{mine.holiday.pk}|{CHUSEOK}"]})
        assert messages_of(response) == [
            "Not withdrawn: A greeting for this date is under way; cancel it first: “Chuseok” (Sending)."
        ]
        assert ApprovedHoliday.objects.filter(pk=mine.holiday.pk).exists()

    def test_a_date_the_library_no_longer_has_is_shown_as_a_warning(self, client, owner, mine):
        ApprovedHoliday.objects.create(
            shop=mine.shop, country="DE", key="oktoberfest_opening", date=dt.date(2026, 9, 19),
            names={"en": "Oktoberfest opening"}, source="calendar", approved_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )  # fmt: skip
        client.force_login(owner)
        page = client.get(admin_url("approvedholiday", "review"))
        assert [d.kind for d in page.context["review"].differences] == ["gone"]
        assert "Oktoberfest opening (DE) on 2026-09-19 is no longer in the calendar" in page.content.decode()

    def test_regions_are_added_and_an_unknown_one_is_named(self, client, owner, mine):
        client.force_login(owner)
        page = client.get(admin_url("approvedholiday", "review"), {"subdivisions": "DE-BY"})
        assert any(item["row"].candidate.subdivision == "DE-BY" for rows in page.context["months"].values()
                   for item in rows)  # fmt: skip
        page = client.get(admin_url("approvedholiday", "review"), {"subdivisions": "DE-XX"})
        assert page.status_code == 200
        assert messages_of(page) == ["Unknown subdivision: DE-XX (e.g. DE-BY, US-CA)."]

    def test_an_agent_sees_the_review_but_cannot_approve(self, client, agent, mine):
        client.force_login(agent)
        page = client.get(admin_url("approvedholiday", "review"))
        assert page.status_code == 200
        assert page.context["may_approve"] is False
        assert client.post(admin_url("approvedholiday", "review"), {"approve": [CHRISTMAS_EVE]}).status_code == 403
        assert not ApprovedHoliday.objects.filter(key="christmas_eve").exists()


# --- the calendar view -------------------------------------------------------------------------------------


class TestCalendarView:
    def test_each_date_shows_its_holidays_countries_customers_and_greetings(self, client, owner, mine):
        customer(mine.shop, "KR", "ko", "Asia/Seoul")
        holiday_greeting_set_active(greeting=mine.greeting, is_active=True)
        client.force_login(owner)
        page = client.get(admin_url("approvedholiday"))
        (september,) = page.context["months"].values()
        (row,) = september
        assert (row["day"].date, row["day"].countries, row["day"].customers, row["day"].greetings) == (
            dt.date(2026, 9, 25), ("KR",), 2, ("alpha greetings",),
        )  # fmt: skip
        html = page.content.decode()
        assert "Chuseok</a> · 추석" in html

    def test_counting_for_a_greeting_counts_its_audience_only(self, client, owner, mine):
        from journeys.campaigns.models import Audience

        customer(mine.shop, "KR", "en", "Asia/Seoul")
        mine.greeting.audience = Audience.objects.create(shop=mine.shop, name="Korean speakers", languages=["ko"])
        mine.greeting.save()
        client.force_login(owner)
        page = client.get(admin_url("approvedholiday"), {"greeting": mine.greeting.pk})
        (september,) = page.context["months"].values()
        assert september[0]["day"].customers == 1

    def test_the_calendar_costs_the_same_queries_for_few_or_many_dates(
        self, client, owner, mine, django_assert_num_queries
    ):
        from journeys.campaigns.tests.test_admin_campaigns import count_queries

        client.force_login(owner)
        few = count_queries(client, admin_url("approvedholiday"))
        for n in range(15):
            ApprovedHoliday.objects.create(
                shop=mine.shop, country=("DE", "KR", "")[n % 3], key=f"day_{n}", date=dt.date(2026, 7, 1 + n),
                names={"en": f"Day {n}"}, source="calendar", approved_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )  # fmt: skip
        with django_assert_num_queries(few):
            assert client.get(admin_url("approvedholiday")).status_code == 200


# --- greetings -----------------------------------------------------------------------------------------------


class TestGreetings:
    def test_created_through_the_service_with_its_own_rule(self, client, owner, mine):
        client.force_login(owner)
        response = client.post(admin_url("holidaygreeting", "add"), greeting_form(mine, coupon_pool=mine.pool.pk))
        assert response.status_code == 302, response.context["adminform"].form.errors
        greeting = HolidayGreeting.objects.get(name="Season's greetings")
        assert (greeting.holiday_keys, greeting.send_time, greeting.is_active) == (["chuseok"], dt.time(10), True)
        assert (greeting.rule.trigger, greeting.rule.coupon_pool, greeting.rule.is_active) == (
            "holiday_greeting", mine.pool, True,
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"name": "alpha greetings"}, "name"),
            ({"holiday_keys": []}, "holiday_keys"),
            ({"holiday_keys": ["christmas_eve"]}, "holiday_keys"),  # not in the approved calendar
            ({"send_time": "23:00"}, "send_time"),
            ({"lead_days": "40"}, "lead_days"),
            ({"fallback_channel": "sms"}, "fallback_channel"),
        ],
    )
    def test_a_problem_is_shown_on_its_field_and_nothing_is_created(self, client, owner, mine, changes, field):
        client.force_login(owner)
        response = client.post(admin_url("holidaygreeting", "add"), greeting_form(mine, **changes))
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors, response.context["adminform"].form.errors
        assert not HolidayGreeting.objects.filter(name="Season's greetings").exists()
        assert not CareRule.objects.filter(name__contains="Season's greetings").exists()

    def test_changed_through_the_service(self, client, owner, mine):
        client.force_login(owner)
        url = admin_url("holidaygreeting", "change", mine.greeting.pk)
        data = greeting_form(mine, name="alpha greetings", send_time="09:30", channel="email", fallback_channel="")
        del data["shop"], data["is_active"]
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        mine.greeting.refresh_from_db()
        assert (mine.greeting.send_time, mine.greeting.is_active) == (dt.time(9, 30), False)
        assert (mine.greeting.rule.channel, mine.greeting.rule.fallback_channel) == ("email", "")

    def test_turned_on_and_off_from_its_page_and_the_list(self, client, owner, mine):
        client.force_login(owner)
        page = client.get(admin_url("holidaygreeting", "change", mine.greeting.pk)).content.decode()
        assert 'value="turn_on"' in page
        response = client.post(
            admin_url("holidaygreeting"),
            {"action": "turn_on", "_selected_action": [mine.greeting.pk], "_return_to_greeting": mine.greeting.pk},
        )
        assert response["Location"] == admin_url("holidaygreeting", "change", mine.greeting.pk)
        assert messages_of(response) == ["1 greeting turned on."]
        mine.greeting.refresh_from_db()
        assert mine.greeting.is_active
        assert mine.greeting.rule.is_active
        client.post(admin_url("holidaygreeting"), {"action": "turn_off", "_selected_action": [mine.greeting.pk]})
        mine.greeting.refresh_from_db()
        assert not mine.greeting.is_active

    def test_another_shops_greeting_cannot_be_turned_on(self, client, owner, mine, theirs):
        client.force_login(owner)
        client.post(admin_url("holidaygreeting"), {"action": "turn_on", "_selected_action": [theirs.greeting.pk]})
        theirs.greeting.refresh_from_db()
        assert not theirs.greeting.is_active

    def test_the_list_shows_the_next_dates_each_greeting_goes_out(self, client, owner, mine):
        ApprovedHoliday.objects.create(
            shop=mine.shop, country="KR", key="chuseok", date=dt.date(2027, 9, 15), names={"en": "Chuseok"},
            source="calendar", approved_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )  # fmt: skip
        mine.greeting.lead_days = 1
        mine.greeting.save()
        client.force_login(owner)
        html = client.get(admin_url("holidaygreeting")).content.decode()
        assert "24 Sep 2026 (Chuseok)" in html
        assert "14 Sep 2027 (Chuseok)" in html

    def test_its_page_shows_whom_each_next_date_greets_at_what_local_time(self, client, owner, mine):
        client.force_login(owner)
        page = client.get(admin_url("holidaygreeting", "change", mine.greeting.pk))
        (preview,) = page.context["previews"]
        assert preview["count"].by_country == {"KR": 1}, "Chuseok greets the Korean customers only"
        (recipient,) = preview["sample"]
        assert (f"{recipient.local_send_at:%Y-%m-%d %H:%M}", recipient.time_zone) == ("2026-09-25 10:00", "Asia/Seoul")
        assert [(day.date, day.customers) for day in page.context["days"]] == [(dt.date(2026, 9, 25), 1)]


# --- shop dates ------------------------------------------------------------------------------------------------


class TestShopDates:
    def test_created_changed_and_deleted(self, client, owner, mine):
        client.force_login(owner)
        data = {"shop": mine.shop.pk, "name": "Singles' day", "names": '{"zh-hans": "双十一"}', "kind": "yearly",
                "month": "11", "day": "11"}  # fmt: skip
        assert client.post(admin_url("shopdate", "add"), data).status_code == 302
        shop_date = ShopDate.objects.get(name="Singles' day")
        assert (shop_date.month, shop_date.day, shop_date.names) == (11, 11, {"zh-hans": "双十一"})
        del data["shop"]
        response = client.post(admin_url("shopdate", "change", shop_date.pk), {**data, "kind": "black_friday"})
        assert response.status_code == 302, response.context["adminform"].form.errors
        shop_date.refresh_from_db()
        assert (shop_date.kind, shop_date.month) == ("black_friday", None)
        assert client.post(admin_url("shopdate", "delete", shop_date.pk), {"post": "yes"}).status_code == 302
        assert not ShopDate.objects.filter(pk=shop_date.pk).exists()

    @pytest.mark.parametrize(
        ("changes", "field"),
        [({"day": ""}, "day"), ({"month": "2", "day": "30"}, "day"), ({"name": "alpha birthday"}, "name")],
    )
    def test_a_problem_is_shown_on_its_field(self, client, owner, mine, changes, field):
        client.force_login(owner)
        data = {"shop": mine.shop.pk, "name": "Anniversary", "kind": "yearly", "month": "5", "day": "3", **changes}
        response = client.post(admin_url("shopdate", "add"), data)
        assert field in response.context["adminform"].form.errors

"""The demo shop of `manage.py seed_demo` shows holiday greetings and campaigns: an approved calendar, a
greeting on Chuseok (Korea) and Christmas Eve (Germany) at 10:00 local time, and a campaign draft."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from journeys.campaigns.models import ApprovedHoliday, Campaign, HolidayGreeting
from merchant.models import Merchant

pytestmark = pytest.mark.django_db


def seed(**options) -> dict[str, str]:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines() if "=" in line)


def test_the_demo_has_a_calendar_a_greeting_and_a_draft_once():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        first = seed(customers=5, orders=5)
        second = seed(customers=5, orders=5)
    assert (first["GREETINGS_CREATED"], first["CAMPAIGNS_CREATED"], first["AUDIENCES_CREATED"]) == ("1", "1", "2")
    assert int(first["HOLIDAYS_APPROVED"]) > 10
    assert {key: second[key] for key in first if key.endswith(("APPROVED", "CREATED"))} == dict.fromkeys(
        [key for key in first if key.endswith(("APPROVED", "CREATED"))], "0"
    )
    shop = Merchant.objects.get(slug="demo")
    approved = set(ApprovedHoliday.objects.filter(shop=shop).values_list("key", "country", "date"))
    assert {("chuseok", "KR", dt.date(2026, 9, 25)), ("christmas_eve", "DE", dt.date(2026, 12, 24))} <= approved
    greeting = HolidayGreeting.objects.get(shop=shop)
    assert (greeting.holiday_keys, greeting.send_time, greeting.is_active) == (
        ["chuseok", "christmas_eve"],
        dt.time(10, 0),
        True,
    )
    assert sorted(str(c) for c in greeting.audience.countries) == ["DE", "KR"]
    draft = Campaign.objects.get(shop=shop)
    assert (draft.status, draft.send_on, draft.send_time) == ("draft", dt.date(2026, 6, 15), dt.time(10, 0))

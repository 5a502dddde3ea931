"""Fixtures of the campaign and greeting admin tests: two shops, each with what the admin pages show."""

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from journeys.campaigns import services
from journeys.campaigns.audiences import shop_date_save
from journeys.campaigns.greetings import holiday_greeting_create
from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign, HolidayGreeting, ShopDate
from journeys.models import CouponPool
from journeys.tests.factories import CouponPoolFactory
from merchant.actors import Actor
from merchant.models import Customer, Merchant, Tag
from merchant.tests.factories import CustomerFactory, TagFactory

# The admin tests' clock: the first of June 2026, so Chuseok (25 September) and Christmas Eve are ahead.
JUNE = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
CONSENT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def admin_url(model: str, action: str = "changelist", *args) -> str:
    return reverse(f"admin:journeys_{model}_{action}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def june():
    with time_machine.travel(JUNE, tick=False) as traveller:
        yield traveller


def customer(shop: Merchant, country: str, language: str, zone: str, **extra) -> Customer:
    values = {
        "country": country,
        "language": language,
        "time_zone": zone,
        "sms_marketing_consent_at": CONSENT,
        "email_marketing_consent_at": CONSENT,
        **extra,
    }
    return CustomerFactory(shop=shop, **values)


@dataclass
class ShopRows:
    """One shop's rows as the admin shows them."""

    shop: Merchant
    tag: Tag
    pool: CouponPool
    audience: Audience
    campaign: Campaign
    holiday: ApprovedHoliday
    greeting: HolidayGreeting
    shop_date: ShopDate


def shop_rows(shop: Merchant, label: str) -> ShopRows:
    """Customers in Korea and Germany, an audience, a draft campaign, an approved Chuseok, a greeting, a date."""
    customer(shop, "KR", "ko", "Asia/Seoul", first_name=f"{label}-kr")
    customer(shop, "DE", "de", "Europe/Berlin", first_name=f"{label}-de")
    tag = TagFactory(shop=shop, name=f"{label}-vip")
    pool = CouponPoolFactory(shop=shop, name=f"{label} pool")
    audience = Audience.objects.create(shop=shop, name=f"{label} everyone")
    campaign = services.campaign_create(
        shop=shop,
        name=f"{label} summer sale",
        audience=audience,
        actor=Actor.system("test"),
        send_on=dt.date(2026, 7, 1),
        send_time=dt.time(10, 0),
    )
    holiday, _created = ApprovedHoliday.objects.get_or_create(
        shop=shop,
        country="KR",
        key="chuseok",
        date=dt.date(2026, 9, 25),
        defaults={
            "names": {"en": "Chuseok", "ko": "추석"},
            "source": "calendar",
            "source_version": "holidays test",
            "approved_at": CONSENT,
        },
    )
    greeting = holiday_greeting_create(
        shop=shop, name=f"{label} greetings", audience=audience, holiday_keys=["chuseok"], send_time=dt.time(10, 0)
    )
    shop_date = shop_date_save(shop_date=ShopDate(shop=shop, name=f"{label} birthday", kind="yearly", month=5, day=3))
    return ShopRows(shop, tag, pool, audience, campaign, holiday, greeting, shop_date)


@pytest.fixture
def mine(shop, june) -> ShopRows:
    return shop_rows(shop, "alpha")


@pytest.fixture
def theirs(other_shop, june) -> ShopRows:
    return shop_rows(other_shop, "beta")

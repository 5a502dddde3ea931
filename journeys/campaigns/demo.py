"""The demo shop's holiday greetings and campaigns (`manage.py seed_demo`, through merchant.demo).

An approved calendar for the next twelve months of its customers' countries (public holidays and the
days the supplement adds, such as Christmas Eve in Germany; the unofficial ones are left for the owner
to tick in the review), an audience of its Korean and German customers, a greeting on Chuseok and
Christmas Eve at 10:00 in each customer's zone, and a campaign draft. Only what is missing is created.
"""

import datetime as dt

from django.utils import timezone

from journeys.campaigns.audiences import audience_save
from journeys.campaigns.calendar import Category, calendar_candidates, calendar_countries
from journeys.campaigns.greetings import calendar_approve, holiday_greeting_create
from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign, HolidayGreeting
from journeys.campaigns.services import campaign_create
from merchant.actors import Actor
from merchant.models import Merchant

GREETING = "Chuseok and Christmas Eve"
GREETED = "Customers in Korea and Germany"
RECENT = "Ordered in the last 3 months"
CAMPAIGN = "Spring collection preview"


def _audience(shop: Merchant, name: str, **filters) -> tuple[Audience, int]:
    found = Audience.objects.filter(shop=shop, name=name).first()
    if found is not None:
        return found, 0
    return audience_save(audience=Audience(shop=shop, name=name, **filters)), 1


def campaigns_demo_seed(shop: Merchant, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Create what is missing of the demo's calendar, audiences, greeting and campaign draft; counts created."""
    now = now or timezone.now()
    today = now.date()
    before = ApprovedHoliday.objects.filter(shop=shop).count()
    # The customers' countries, and Korea and Germany for the greeting whatever a small demo's customers are.
    countries = sorted({*calendar_countries(shop), "KR", "DE"})
    candidates = [
        candidate
        for candidate in calendar_candidates(shop=shop, start=today, countries=countries).candidates
        if candidate.country and candidate.category != Category.UNOFFICIAL
    ]
    calendar_approve(shop=shop, user=None, candidates=candidates, now=now)
    approved = ApprovedHoliday.objects.filter(shop=shop).count() - before

    greeted, made = _audience(shop, GREETED, countries=["KR", "DE"])
    recent, made_recent = _audience(shop, RECENT, ordered_within_months=3)
    greetings = 0
    if not HolidayGreeting.objects.filter(shop=shop, name=GREETING).exists():
        holiday_greeting_create(
            shop=shop,
            name=GREETING,
            audience=greeted,
            holiday_keys=["chuseok", "christmas_eve"],
            send_time=dt.time(10, 0),
            is_active=True,
            actor=Actor.system("demo data"),
        )
        greetings = 1
    campaigns = 0
    if not Campaign.objects.filter(shop=shop, name=CAMPAIGN).exists():
        campaign_create(
            shop=shop,
            name=CAMPAIGN,
            audience=recent,
            actor=Actor.system("demo data"),
            send_on=today + dt.timedelta(days=14),
            send_time=dt.time(10, 0),
        )
        campaigns = 1
    return {
        "HOLIDAYS_APPROVED": approved,
        "AUDIENCES_CREATED": made + made_recent,
        "GREETINGS_CREATED": greetings,
        "CAMPAIGNS_CREATED": campaigns,
    }

"""The campaign's page and the holiday calendar in a desktop browser (headless Chromium, merchant/tests/browser.py):
the owner logs in, the progress bar shows how far a campaign has got and follows it as messages go out,
without a reload. Screenshots of both pages are kept in docs/screenshots/ (renewed with UPDATE_SCREENSHOTS=1).
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.campaigns import services
from journeys.campaigns.calendar import calendar_candidates
from journeys.campaigns.fanout import local_moment_of
from journeys.campaigns.greetings import calendar_approve, holiday_greeting_create
from journeys.campaigns.models import Audience, Campaign
from journeys.campaigns.tests.conftest import CONSENT
from journeys.models import Message
from merchant.actors import Actor
from merchant.tests.browser import admin_login
from merchant.tests.factories import CustomerFactory

PASSWORD = "correct horse battery staple"  # UserFactory's
TIMEOUT_MS = 15_000

NAMES = {
    "KR": (("민서", "김"), ("지호", "이"), ("서연", "박"), ("도윤", "최"), ("하은", "정")),
    "DE": (("Anna", "Müller"), ("Jonas", "Schmidt"), ("Lea", "Fischer"), ("Felix", "Weber"), ("Mia", "Wagner")),
    "US": (("Emma", "Brown"), ("Liam", "Lee"), ("Olivia", "Stone"), ("Noah", "Jenkins"), ("Ava", "Baker")),
}
ZONES = {"KR": ("Asia/Seoul", "ko"), "DE": ("Europe/Berlin", "de"), "US": ("America/Chicago", "en")}


@pytest.fixture
def demo_customers(shop):
    """Five customers in each of Korea, Germany and the US; the fifth of each agreed to no marketing."""
    people = []
    for country, names in NAMES.items():
        zone, language = ZONES[country]
        for n, (first, last) in enumerate(names):
            people.append(
                CustomerFactory(
                    shop=shop,
                    first_name=first,
                    last_name=last,
                    country=country,
                    language=language,
                    time_zone=zone,
                    sms_marketing_consent_at=None if n == 4 else CONSENT,
                    email_marketing_consent_at=None if n == 4 else CONSENT,
                )
            )
    return people


def sending_campaign(shop, people) -> Campaign:
    """A campaign halfway through: most messages sent, some delivered and clicked, a few waiting or left out.

    Its rows are written as the fan-out writes them (10:00 on its date in each customer's zone, spread at
    0.37 s apart), then given the statuses of a send under way: the page reads rows, not how they came.
    """
    audience = Audience.objects.create(shop=shop, name="Everyone")
    day = timezone.now().date()
    campaign = services.campaign_create(
        shop=shop,
        name="Autumn collection",
        audience=audience,
        actor=Actor.system("test"),
        send_on=day,
        send_time=dt.time(10, 0),
    )
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(status="sending", planning_started_at=now, planning_finished_at=now)
    outcomes = iter(["delivered"] * 6 + ["sent"] * 3 + ["scheduled"] * 2 + ["failed"])
    for n, person in enumerate(people):
        consented = person.sms_marketing_consent_at is not None
        status, reason = (next(outcomes), "") if consented else ("suppressed", "no_consent")
        moment, _note = local_moment_of(day=day, at=dt.time(10, 0), zone=person.time_zone)
        moment += dt.timedelta(seconds=round((n % 5) * 0.37, 2))
        Message.objects.create(
            shop=shop,
            customer=person,
            campaign=campaign,
            rule=campaign.rule,
            trigger="campaign",
            step="0",
            idem_key=f"campaign:{campaign.pk}:{person.pk}",
            channel="sms",
            address=str(person.phone),
            language=person.language,
            time_zone=person.time_zone,
            message_class="marketing",
            status=status,
            reason=reason,
            anchor_at=moment,
            not_before=moment,
            send_at=moment,
            sent_at=moment if status in ("sent", "delivered") else None,
            clicked_at=now if status == "delivered" and person.language == "de" else None,
        )
    campaign.refresh_from_db()
    return campaign


def test_the_campaign_page_shows_progress_and_follows_it_live(desktop_page, owner, shop, demo_customers, screenshots):
    campaign = sending_campaign(shop, demo_customers)
    page = desktop_page
    admin_login(page, username=owner.username, password=PASSWORD)
    page.goto(f"/admin/journeys/campaign/{campaign.pk}/change/")

    bar = page.get_by_role("progressbar", name="Progress")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "86")  # 13 of 15 finished
    progress = page.locator("#campaign-progress")
    expect(progress.locator("[data-progress=sent]")).to_have_text("9")
    expect(progress.locator("[data-progress=scheduled]")).to_have_text("2")
    expect(progress.locator("[data-progress=suppressed]")).to_have_text("No marketing consent: 3")
    # Once planned, "who gets what" lists the messages planned, each at its local time.
    expect(page.get_by_text("Who gets what")).to_be_visible()
    expect(page.locator("table.sample").get_by_text("Asia/Seoul").first).to_be_visible()
    page.screenshot(path=screenshots / "campaign-progress.png", full_page=True)

    # The rest goes out; the page follows without a reload.
    Message.objects.filter(campaign=campaign, status="scheduled").update(status="sent", sent_at=timezone.now())
    expect(progress.locator("[data-progress=sent]")).to_have_text("11", timeout=TIMEOUT_MS)
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=TIMEOUT_MS)
    expect(progress.locator("[data-progress=scheduled]")).to_have_text("0")


def test_the_holiday_calendar_shows_whom_each_date_greets(desktop_page, owner, shop, demo_customers, screenshots):
    today = timezone.now().date()
    found = calendar_candidates(shop=shop, start=today, countries=["KR", "DE", "US"]).candidates
    calendar_approve(
        shop=shop, user=owner, candidates=[c for c in found if c.category == "public" or c.key == "christmas_eve"]
    )
    audience = Audience.objects.create(shop=shop, name="Korea and Germany", countries=["KR", "DE"])
    holiday_greeting_create(
        shop=shop, name="Chuseok and Christmas Eve", audience=audience, holiday_keys=["chuseok", "christmas_eve"],
        is_active=True,
    )  # fmt: skip
    page = desktop_page
    admin_login(page, username=owner.username, password=PASSWORD)
    page.goto("/admin/")
    page.get_by_role("link", name="Holiday calendar").first.click()
    expect(page.get_by_role("heading", name="Holiday calendar of Alpha Shoes")).to_be_visible()
    chuseok = page.locator("table.calendar-days tr").filter(has=page.get_by_role("link", name="Chuseok", exact=True))
    expect(chuseok).to_contain_text("추석")
    expect(chuseok).to_contain_text("KR")
    expect(chuseok.locator("td.num")).to_have_text("5")
    expect(chuseok).to_contain_text("Chuseok and Christmas Eve")
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.screenshot(path=screenshots / "holiday-calendar.png")

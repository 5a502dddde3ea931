"""The issue's "done when", driven from the admin as a shop owner: greet every Korean customer on Chuseok at
10:00 Seoul time and every German customer on Christmas Eve at 10:00 Berlin time, see who will get what
before it happens, watch the progress, and stop it.

Only the admin is used to set it up (the test client logged in as the owner); the periodic tasks run as
django-q2 would run them (synchronously in tests), and the real dispatcher sends through the console
SMS provider.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from journeys.campaigns.models import Audience, Campaign, HolidayGreeting
from journeys.campaigns.tasks import campaigns_tick_task, greetings_schedule_due_task
from journeys.campaigns.tests.conftest import CONSENT, JUNE, admin_url, messages_of
from journeys.models import Message
from journeys.services.dispatch import Dispatcher
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC
SEOUL, BERLIN = ZoneInfo("Asia/Seoul"), ZoneInfo("Europe/Berlin")


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def people(shop):
    """Three Korean customers (one never agreed to marketing), two German ones, one American."""

    def person(name, country, language, zone, phone, consent=CONSENT):
        return CustomerFactory(
            shop=shop, first_name=name, country=country, language=language, time_zone=zone, phone=phone,
            sms_marketing_consent_at=consent, email_marketing_consent_at=consent,
        )  # fmt: skip

    return {
        "minseo": person("민서", "KR", "ko", "Asia/Seoul", "+821012340001"),
        "jiho": person("지호", "KR", "ko", "Asia/Seoul", "+821012340002"),
        "seoyeon": person("서연", "KR", "ko", "Asia/Seoul", "+821012340003", consent=None),
        "anna": person("Anna", "DE", "de", "Europe/Berlin", "+4915112340001"),
        "jonas": person("Jonas", "DE", "de", "Europe/Berlin", "+4915112340002"),
        "amy": person("Amy", "US", "en", "America/Chicago", "+13125550101"),
    }


def progress(client, campaign) -> dict:
    response = client.get(admin_url("campaign", "progress", campaign.pk))
    assert response.status_code == 200
    return response.json()


def tasks_run(moment: dt.datetime, capture) -> None:
    """What django-q2's schedules do at `moment`: create due greeting dates, start and finish campaigns (the
    fan-out's chunk tasks run as they are enqueued, synchronously in tests)."""
    with at(moment), capture(execute=True):
        greetings_schedule_due_task()
        campaigns_tick_task()


def dispatch(moment: dt.datetime, **options) -> dict:
    with at(moment), Dispatcher(channels=["sms"], **options) as dispatcher:
        return dict(dispatcher.drain().tally) if "batch_size" not in options else dict(dispatcher.batch("sms").tally)


def test_an_owner_greets_korea_on_chuseok_and_germany_on_christmas_eve_at_10_local_and_can_stop_it(
    client, owner, shop, people, django_capture_on_commit_callbacks
):
    # 1. Approve Chuseok (Korea) and Christmas Eve (Germany) in the review of the next twelve months.
    with at(JUNE):
        client.force_login(owner)
        review = client.get(admin_url("approvedholiday", "review"))
        slots = {item["slot"] for rows in review.context["months"].values() for item in rows}
        assert {"KR||chuseok|2026-09-25", "DE||christmas_eve|2026-12-24"} <= slots
        response = client.post(
            admin_url("approvedholiday", "review"),
            {"shop": shop.pk, "approve": ["KR||chuseok|2026-09-25", "DE||christmas_eve|2026-12-24"]},
        )
        assert messages_of(response) == ["2 dates approved."]

        # 2. An audience: the customers in Korea and Germany.
        response = client.post(
            admin_url("audience", "add"),
            {"shop": shop.pk, "name": "Korea and Germany", "target": "customers", "countries": ["KR", "DE"],
             "min_orders": "0"},
        )  # fmt: skip
        assert response.status_code == 302
        audience = Audience.objects.get(name="Korea and Germany")

        # 3. One greeting for both holidays at 10:00 local time, then turned on from its page.
        response = client.post(
            admin_url("holidaygreeting", "add"),
            {"shop": shop.pk, "name": "Holiday greetings", "audience": audience.pk,
             "holiday_keys": ["chuseok", "christmas_eve"], "lead_days": "0", "send_time": "10:00",
             "channel": "sms", "fallback_channel": "email"},
        )  # fmt: skip
        assert response.status_code == 302, response.context["adminform"].form.errors
        greeting = HolidayGreeting.objects.get(name="Holiday greetings")
        assert not greeting.is_active
        client.post(
            admin_url("holidaygreeting"),
            {"action": "turn_on", "_selected_action": [greeting.pk], "_return_to_greeting": greeting.pk},
        )
        greeting.refresh_from_db()
        assert greeting.is_active

        # 4. The calendar: per date, the holiday, its country and how many customers the greeting greets.
        calendar = client.get(admin_url("approvedholiday"), {"greeting": greeting.pk})
        days = [row["day"] for rows in calendar.context["months"].values() for row in rows]
        assert [(d.date, d.countries, d.customers, d.greetings) for d in days] == [
            (dt.date(2026, 9, 25), ("KR",), 3, ("Holiday greetings",)),
            (dt.date(2026, 12, 24), ("DE",), 2, ("Holiday greetings",)),
        ]

        # 5. Who will get what, before it happens: each customer's local time, language and channel.
        page = client.get(admin_url("holidaygreeting", "change", greeting.pk))
        chuseok, christmas_eve = page.context["previews"]
        assert (chuseok["count"].total, chuseok["count"].reachable, chuseok["count"].suppressed) == (
            3, 2, {"no_consent": 1},
        )  # fmt: skip
        assert {
            (r.customer.first_name, f"{r.local_send_at:%Y-%m-%d %H:%M %Z}", r.language, r.channel, r.reason)
            for r in chuseok["sample"]
        } == {  # fmt: skip
            ("민서", "2026-09-25 10:00 KST", "ko", "sms", ""),
            ("지호", "2026-09-25 10:00 KST", "ko", "sms", ""),
            ("서연", "2026-09-25 10:00 KST", "ko", "sms", "no_consent"),
        }
        assert {(r.customer.first_name, f"{r.local_send_at:%Y-%m-%d %H:%M %Z}") for r in christmas_eve["sample"]} == {
            ("Anna", "2026-12-24 10:00 CET"),
            ("Jonas", "2026-12-24 10:00 CET"),
        }

    # 6. Two days ahead the greeting's Chuseok date becomes a scheduled send; a day ahead it is planned.
    tasks_run(dt.datetime(2026, 9, 23, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    chuseok_send = Campaign.objects.get(greeting=greeting, holiday_key="chuseok")
    assert chuseok_send.status == "scheduled"
    with at(dt.datetime(2026, 9, 23, 12, 5, tzinfo=UTC)):
        client.force_login(owner)  # months later: a new session
        page = client.get(admin_url("campaign", "change", chuseok_send.pk))
        assert {f"{r.local_send_at:%H:%M}" for r in page.context["sample"]} == {"10:00"}
        assert progress(client, chuseok_send)["planned"] == 0
    tasks_run(dt.datetime(2026, 9, 24, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    with at(dt.datetime(2026, 9, 24, 12, 1, tzinfo=UTC)):
        planned = progress(client, chuseok_send)
        # Once planned, its page lists the messages planned, each at 10:00 Seoul time (spread by a few ms).
        page = client.get(admin_url("campaign", "change", chuseok_send.pk))
        assert {
            (m.customer.first_name, f"{m.send_at.astimezone(SEOUL):%Y-%m-%d %H:%M}", m.status)
            for m in page.context["planned_sample"]
        } == {  # fmt: skip
            ("민서", "2026-09-25 10:00", "scheduled"),
            ("지호", "2026-09-25 10:00", "scheduled"),
            ("서연", "2026-09-25 10:00", "suppressed"),
        }
    assert (planned["status"], planned["planned"], planned["scheduled"], planned["suppressed"]) == (
        "sending", 3, 2, [{"reason": "no_consent", "label": "No marketing consent", "count": 1}],
    )  # fmt: skip

    # 7. Nothing leaves before 10:00 in Seoul; at 10:00 it does.
    assert dispatch(dt.datetime(2026, 9, 25, 0, 59, tzinfo=UTC)) == {}
    assert dispatch(dt.datetime(2026, 9, 25, 1, 0, 30, tzinfo=UTC)) == {"sent": 2}
    sent = Message.objects.filter(campaign=chuseok_send, status="sent").select_related("customer")
    for message in sent:
        assert message.send_at.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M") == "2026-09-25 10:00"
        assert message.sent_at.astimezone(SEOUL).strftime("%H:%M") == "10:00"
        # Korean law marks marketing texts as ads and says how to refuse them (journeys.sms_copy).
        assert (
            message.body
            == f"(광고) Alpha Shoes: {message.customer.first_name}님, 즐거운 추석 보내세요! 수신거부: '수신거부' 회신"
        )
    with at(dt.datetime(2026, 9, 25, 1, 2, tzinfo=UTC)):
        done = progress(client, chuseok_send)
    assert (done["sent"], done["percent"], done["scheduled"]) == (2, 100, 0)
    tasks_run(dt.datetime(2026, 9, 25, 1, 3, tzinfo=UTC), django_capture_on_commit_callbacks)
    chuseok_send.refresh_from_db()
    assert chuseok_send.status == "done"
    assert not Message.objects.filter(campaign=chuseok_send, customer__country="DE").exists()

    # 8. Christmas Eve for the German customers at 10:00 Berlin time. One goes; the owner pauses the rest.
    tasks_run(dt.datetime(2026, 12, 22, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    tasks_run(dt.datetime(2026, 12, 23, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    eve_send = Campaign.objects.get(greeting=greeting, holiday_key="christmas_eve")
    assert dispatch(dt.datetime(2026, 12, 24, 9, 0, 10, tzinfo=UTC), batch_size=1) == {"sent": 1}
    first = Message.objects.get(campaign=eve_send, status="sent")
    assert first.sent_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == "2026-12-24 10:00"
    assert f"Hallo {first.customer.first_name}, herzliche Grüße zu Heiligabend!" in first.body
    with at(dt.datetime(2026, 12, 24, 9, 0, 20, tzinfo=UTC)):
        client.force_login(owner)  # months later: a new session
        response = client.post(admin_url("campaign", "action", eve_send.pk, "pause"))
        assert messages_of(response) == [f"Paused: “{eve_send.name}”. Nothing more is sent."]
        paused = progress(client, eve_send)
    assert (paused["status"], paused["sent"], paused["paused"], paused["live"]) == ("paused", 1, 1, True)

    # The rest waits while paused, however late it gets.
    assert dispatch(dt.datetime(2026, 12, 24, 9, 30, tzinfo=UTC)) == {}
    assert Message.objects.filter(campaign=eve_send, status="paused").count() == 1

    # 9. The owner cancels: the waiting message is never sent.
    with at(dt.datetime(2026, 12, 24, 9, 31, tzinfo=UTC)):
        page = client.get(admin_url("campaign", "change", eve_send.pk))
        assert [name for name, _label, _url in page.context["actions"]] == ["resume", "cancel"]
        client.post(admin_url("campaign", "action", eve_send.pk, "cancel"))
        stopped = progress(client, eve_send)
    assert (stopped["status"], stopped["sent"], stopped["paused"], stopped["cancelled"], stopped["live"]) == (
        "cancelled", 1, 0, 1, False,
    )  # fmt: skip
    assert dispatch(dt.datetime(2026, 12, 24, 12, 0, tzinfo=UTC)) == {}
    assert Message.objects.filter(status="sent", customer__country="US").count() == 0

"""Campaign services: creating with clear errors, the status table, pausing (sends stop, through the real
dispatcher) and resuming (sends go on, spread again), cancelling, the test send to the owner, and the
minute tick that starts and finishes campaigns."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction

from journeys.campaigns import fanout, services
from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign
from journeys.campaigns.selectors import campaign_progress, campaign_test_sends
from journeys.models import CareRule, Message
from journeys.services.dispatch import Dispatcher, DispatchReport, messages_claim
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.tests.factories import CustomerFactory, MerchantFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
CONSENT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
# 10:00 in New York (the shop), 16:00 in Berlin (its customers): inside every window.
SEND_AT = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def customers(shop):
    return [
        CustomerFactory(
            shop=shop,
            first_name=f"Kunde{n}",
            phone=f"+49151000000{n:02d}",
            country="DE",
            language="de",
            time_zone="Europe/Berlin",
            sms_marketing_consent_at=CONSENT,
        )
        for n in range(6)
    ]


@pytest.fixture
def everyone(shop):
    return Audience.objects.create(shop=shop, name="Everyone")


def sale(shop, audience, **options):
    values = {"name": "Summer sale", "timing": Campaign.Timing.SHOP_TIME, "send_at": SEND_AT, **options}
    return services.campaign_create(shop=shop, audience=audience, actor=SYSTEM, **values)


def started(campaign, capture, *, now=SEND_AT - dt.timedelta(hours=1)):
    """Scheduled, then planned by the minute tick (chunk tasks run synchronously in tests)."""
    with at(now):
        services.campaign_schedule(campaign=campaign, actor=SYSTEM)
        with capture(execute=True):
            services.campaigns_tick()
    campaign.refresh_from_db()
    return campaign


def batch() -> dict[str, int]:
    with Dispatcher(channels=["sms"]) as dispatcher:
        return dict(dispatcher.batch("sms").tally)


def statuses(campaign) -> dict[str, int]:
    return {status: count for status, count in campaign_progress(campaign).by_status.items() if count}


# --- create and schedule --------------------------------------------------------------------------------


def test_a_campaign_gets_its_own_inactive_rule_with_copy_in_every_language(shop, everyone):
    campaign = sale(shop, everyone, coupon_pool=None)

    rule = campaign.rule
    assert (rule.trigger, rule.is_active, rule.message_class, rule.channel, rule.fallback_channel) == (
        "campaign",
        False,
        "marketing",
        "sms",
        "email",
    )
    variants = set(rule.templates.values_list("channel", "language"))
    assert variants == {(c, lang) for c in ("sms", "email") for lang in ("en", "de", "ru", "ko", "zh-hans")}
    assert campaign.status == Campaign.Status.DRAFT
    assert rule.name == "Campaign: Summer sale"
    assert sale(shop, everyone).rule.name == "Campaign: Summer sale (2)"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"channel": "fax"}, "channel"),
        ({"fallback_channel": "sms"}, "fallback_channel"),
        ({"message_class": "spam"}, "message_class"),
        ({"timing": "someday"}, "timing"),
        ({"send_at": dt.datetime(2026, 6, 10, 14, 0)}, "send_at"),  # noqa: DTZ001 - the naive moment is the error
        ({"templates": [{"channel": "sms", "language": "en", "body": "{{ nobody.knows }}"}]}, "body"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(shop, everyone, changes, field):
    with pytest.raises(ValidationError) as error:
        sale(shop, everyone, **{"name": "Summer sale", **changes})
    assert field in error.value.message_dict
    assert not Campaign.objects.exists()
    assert not CareRule.objects.filter(trigger="campaign").exists()


def test_another_shops_audience_is_refused(shop, other_shop):
    theirs = Audience.objects.create(shop=other_shop, name="Theirs")
    with pytest.raises(ValidationError) as error:
        sale(shop, theirs)
    assert error.value.message_dict == {"audience": ["The audience belongs to another shop."]}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"send_at": SEND_AT - dt.timedelta(days=2)}, "send_at"),
        ({"send_at": dt.datetime(2026, 6, 10, 3, 0, tzinfo=dt.UTC)}, "send_at"),  # 23:00 in New York
        ({"timing": "customer_time", "send_at": None, "send_on": None}, "send_on"),
        (
            {"timing": "customer_time", "send_at": None, "send_on": dt.date(2026, 6, 20), "send_time": dt.time(7, 0)},
            "send_time",
        ),
        ({"timing": "customer_time", "send_at": None, "send_on": dt.date(2026, 6, 1)}, "send_on"),
        (
            {
                "kind": "holiday_greeting",
                "timing": "customer_time",
                "send_at": None,
                "send_on": dt.date(2026, 9, 25),
                "holiday_key": "chuseok",
                "holiday_date": dt.date(2026, 9, 25),
            },
            "holiday_key",
        ),
    ],
)
def test_scheduling_checks_the_time_window_and_calendar(shop, everyone, options, field):
    campaign = sale(shop, everyone, **options)
    with at(SEND_AT - dt.timedelta(days=1)), pytest.raises(ValidationError) as error:
        services.campaign_schedule(campaign=campaign, actor=SYSTEM)
    assert field in error.value.message_dict
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_an_approved_holiday_can_be_scheduled(shop, everyone):
    ApprovedHoliday.objects.create(
        shop=shop,
        country="KR",
        key="chuseok",
        date=dt.date(2026, 9, 25),
        names={"ko": "추석"},
        source="calendar",
        approved_at=SEND_AT,
    )
    greeting = sale(
        shop,
        everyone,
        kind="holiday_greeting",
        timing="customer_time",
        send_at=None,
        send_on=dt.date(2026, 9, 25),
        holiday_key="chuseok",
        holiday_date=dt.date(2026, 9, 25),
    )
    with at(SEND_AT):
        assert services.campaign_schedule(campaign=greeting, actor=SYSTEM).status == "scheduled"
    assert greeting.rule.trigger == "holiday_greeting"


# --- the status table ------------------------------------------------------------------------------------

ALL = list(Campaign.Status.values)


@pytest.mark.parametrize("to", ALL)
@pytest.mark.parametrize("start", ALL)
def test_a_campaign_moves_only_along_its_transition_table(shop, everyone, start, to):
    campaign = sale(shop, everyone)
    Campaign.objects.filter(pk=campaign.pk).update(status=start)
    allowed = to in Campaign.TRANSITIONS[start]
    with transaction.atomic():
        locked = services._locked(campaign)
        if allowed:
            assert services._move(locked, to, now=SEND_AT, actor=SYSTEM).status == to
        else:
            with pytest.raises(InvalidTransition):
                services._move(locked, to, now=SEND_AT, actor=SYSTEM)
    campaign.refresh_from_db()
    assert campaign.status == (to if allowed else start)


# --- pause, resume, cancel ---------------------------------------------------------------------------------


def test_pausing_stops_the_sends_and_resuming_sends_the_rest_spread_again(
    shop, everyone, customers, django_capture_on_commit_callbacks
):
    campaign = started(sale(shop, everyone), django_capture_on_commit_callbacks)
    assert campaign.status == Campaign.Status.SENDING
    assert campaign.rule.is_active

    # Messages go 1 / (0.9 × 100/s) ≈ 11 ms apart: at 30 ms three are due.
    with at(SEND_AT + dt.timedelta(milliseconds=30)):
        assert batch() == {"sent": 3}
        services.campaign_pause(campaign=campaign, actor=Actor.system("owner"))
    assert statuses(campaign) == {"sent": 3, "paused": 3}

    with at(SEND_AT + dt.timedelta(minutes=5)):
        assert batch() == {}, "nothing goes out while the campaign is paused"
        assert services.campaign_fanout_chunk(campaign_id=campaign.pk, cursor=campaign.cursor) is None

    resumed_at = SEND_AT + dt.timedelta(minutes=10)
    with at(resumed_at):
        campaign = services.campaign_resume(campaign=campaign, actor=Actor.system("owner"))
    assert campaign.status == Campaign.Status.SENDING
    waiting = Message.objects.filter(campaign=campaign, status="scheduled").order_by("send_at")
    offsets = [(message.send_at - resumed_at).total_seconds() for message in waiting]
    assert offsets == pytest.approx([0, 1 / 90, 2 / 90], abs=0.002), "spread again from the moment it resumed"
    assert "resumed at 2026-06-10 14:10 UTC." in waiting[0].explanation

    with at(resumed_at + dt.timedelta(seconds=1)):
        assert batch() == {"sent": 3}
    progress = campaign_progress(campaign)
    assert (progress.planned, progress.sent, progress.percent) == (6, 6, 100)

    with at(resumed_at + dt.timedelta(minutes=1)):
        assert services.campaigns_tick().finished == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    assert not CareRule.objects.get(pk=campaign.rule_id).is_active


def test_a_message_claimed_just_before_the_pause_waits_with_the_campaign(
    shop, everyone, customers, django_capture_on_commit_callbacks
):
    campaign = started(sale(shop, everyone), django_capture_on_commit_callbacks)
    now = SEND_AT + dt.timedelta(seconds=1)
    with at(now), Dispatcher(channels=["sms"]) as dispatcher:
        claimed = messages_claim(channel="sms", limit=2, owner=dispatcher.owner, now=now)
        services.campaign_pause(campaign=campaign, actor=SYSTEM)  # between the claim and the send
        report = DispatchReport()
        dispatcher.process_claimed(claimed, channel="sms", now=now, report=report)
    assert dict(report.tally) == {"paused": 2}
    assert statuses(campaign) == {"paused": 6}
    assert set(Message.objects.filter(pk__in=claimed).values_list("attempts", flat=True)) == {0}

    with at(now + dt.timedelta(minutes=1)):
        services.campaign_resume(campaign=campaign, actor=SYSTEM)
    with at(now + dt.timedelta(minutes=2)):
        assert batch() == {"sent": 6}


def test_cancelling_cancels_what_is_waiting_and_a_claimed_message_is_not_sent(
    shop, everyone, customers, django_capture_on_commit_callbacks
):
    campaign = started(sale(shop, everyone), django_capture_on_commit_callbacks)
    now = SEND_AT + dt.timedelta(seconds=1)
    with at(now), Dispatcher(channels=["sms"]) as dispatcher:
        claimed = messages_claim(channel="sms", limit=1, owner=dispatcher.owner, now=now)
        services.campaign_pause(campaign=campaign, actor=SYSTEM)
        services.campaign_cancel(campaign=campaign, actor=Actor.system("owner@alpha"))
        report = DispatchReport()
        dispatcher.process_claimed(claimed, channel="sms", now=now, report=report)
    assert dict(report.tally) == {"cancelled": 1}
    assert statuses(campaign) == {"cancelled": 6}
    cancelled = Message.objects.filter(campaign=campaign).exclude(pk__in=claimed).first()
    assert cancelled.explanation.endswith("Cancelled: the campaign was cancelled by owner@alpha.")
    assert cancelled.finished_at == now
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert not campaign.rule.is_active
    with pytest.raises(InvalidTransition):
        services.campaign_resume(campaign=campaign, actor=SYSTEM)


def test_pausing_during_planning_stops_the_fan_out_and_resuming_continues_from_the_cursor(
    shop, everyone, customers, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(fanout, "CHUNK_SIZE", 2)
    enqueued = []
    monkeypatch.setattr(services, "_fanout_enqueue", lambda campaign_id, cursor: enqueued.append(cursor))
    with at(SEND_AT - dt.timedelta(hours=1)):
        campaign = sale(shop, everyone)
        services.campaign_schedule(campaign=campaign, actor=SYSTEM)
        services.campaigns_tick()
        services.campaign_fanout_chunk(campaign_id=campaign.pk, cursor=0)
        campaign.refresh_from_db()
        services.campaign_pause(campaign=campaign, actor=SYSTEM)
        assert services.campaign_fanout_chunk(campaign_id=campaign.pk, cursor=campaign.cursor) is None
    assert statuses(campaign) == {"paused": 2}

    monkeypatch.undo()
    with at(SEND_AT - dt.timedelta(minutes=30)), django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=campaign, actor=SYSTEM)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    assert statuses(campaign) == {"scheduled": 6}
    assert sorted(Message.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == [
        customer.pk for customer in customers
    ]


# --- the test send ---------------------------------------------------------------------------------------------


def test_a_test_send_goes_to_the_owners_email_now_and_is_not_counted(shop, everyone, customers, owner):
    campaign = sale(shop, everyone, channel="email", fallback_channel="")

    sent = services.campaign_test_send(campaign=campaign, actor=Actor.staff(owner), customer=customers[0])

    (email,) = mail.outbox
    assert email.to == ["owner@alpha.example"]
    assert email.subject == "[Test] Summer sale bei Alpha Shoes"
    assert email.body == "Kunde0, es gibt Neues bei Alpha Shoes: Summer sale."
    assert "<p>Hallo Kunde0,</p>" in email.alternatives[0].content
    assert (sent.status, sent.step, sent.customer, sent.address) == ("sent", "test", None, "owner@alpha.example")
    assert "Not part of the campaign." in sent.explanation
    assert campaign_progress(campaign).planned == 0
    assert list(campaign_test_sends(campaign=campaign)) == [sent]
    assert customers[0].messages.count() == 0, "nobody's budget or history is touched"


def test_a_test_text_goes_to_the_number_given_with_a_sample_customer(shop, everyone, owner):
    campaign = sale(shop, everyone)
    sent = services.campaign_test_send(campaign=campaign, actor=Actor.staff(owner), to="+1 212 555 0199")
    assert (sent.status, sent.channel, sent.address) == ("sent", "sms", "+12125550199")
    assert (
        sent.body == "[Test] Alpha Shoes: Alex, we have news for you at Alpha Shoes: Summer sale. Reply STOP to opt out"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"to": "not a number"}, "to"), ({"channel": "email", "to": "nobody"}, "to"), ({"channel": "pigeon"}, "channel")],
)
def test_a_test_send_with_bad_input_names_the_field(shop, everyone, owner, kwargs, field):
    campaign = sale(shop, everyone)
    with pytest.raises(ValidationError) as error:
        services.campaign_test_send(campaign=campaign, actor=Actor.staff(owner), **kwargs)
    assert field in error.value.message_dict
    assert not Message.objects.exists()


def test_a_test_send_cannot_render_another_shops_customer(shop, everyone, owner):
    stranger = CustomerFactory(shop=MerchantFactory())
    with pytest.raises(ValidationError) as error:
        services.campaign_test_send(campaign=sale(shop, everyone), actor=Actor.staff(owner), customer=stranger)
    assert error.value.message_dict == {"customer": ["The customer belongs to another shop."]}


# --- the minute tick -------------------------------------------------------------------------------------------


def test_planning_starts_a_day_before_the_first_recipients_moment(
    shop, everyone, customers, django_capture_on_commit_callbacks
):
    greeting = sale(
        shop, everyone, timing="customer_time", send_at=None, send_on=dt.date(2026, 12, 24), send_time=dt.time(10)
    )
    with at(dt.datetime(2026, 12, 1, tzinfo=dt.UTC)):
        services.campaign_schedule(campaign=greeting, actor=SYSTEM)
    # The first 10:00 on 24 December is in UTC+14 (Kiribati): 23 December 20:00 UTC.
    with at(dt.datetime(2026, 12, 22, 17, 59, tzinfo=dt.UTC)), django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_tick().started == 0
    with at(dt.datetime(2026, 12, 22, 18, 0, tzinfo=dt.UTC)), django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_tick().started == 1
    greeting.refresh_from_db()
    assert greeting.status == Campaign.Status.SENDING
    assert Message.objects.filter(campaign=greeting, status="scheduled").count() == 6
    with at(dt.datetime(2026, 12, 22, 18, 1, tzinfo=dt.UTC)):
        assert services.campaigns_tick() == services.TickReport(), "still sending: nothing to do"


def test_progress_is_one_query(
    shop, everyone, customers, django_capture_on_commit_callbacks, django_assert_num_queries
):
    campaign = started(sale(shop, everyone), django_capture_on_commit_callbacks)
    with django_assert_num_queries(1):
        progress = campaign_progress(campaign)
    assert (progress.planned, progress.scheduled, progress.percent, progress.planning_done) == (6, 6, 0, True)

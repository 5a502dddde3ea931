"""The fan-out of campaigns and greetings: who gets a message, at which local hour (DST included), who is
suppressed and why, a crash or a lost task in the middle, the spread against the provider's rate, and
order audiences (a delay notice to every paid, unshipped order of one warehouse)."""

import datetime as dt
from collections import Counter

import pytest
import time_machine
from django.core.cache import cache
from django.db.models import Count

from journeys.campaigns import fanout, services
from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign, HolidayGreeting
from journeys.campaigns.selectors import audience_count, campaign_progress
from journeys.models import CareRule, ContactBudget, CountryMessageClass, Message, SmsAccount
from journeys.services.dispatch import Dispatcher
from journeys.testing.fake_twilio import most_in_any_window
from merchant.actors import Actor
from merchant.models import Order
from merchant.services import orders
from merchant.services.api_keys import api_key_create
from merchant.tests.factories import CustomerFactory, OrderFactory, TagFactory

pytestmark = pytest.mark.django_db
OWNER = Actor.system("owner")
CONSENT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def customer(shop, zone="Europe/Berlin", country="DE", **fields):
    values = {
        "shop": shop,
        "time_zone": zone,
        "country": country,
        "language": "de" if country == "DE" else "en",
        "sms_marketing_consent_at": CONSENT,
        "email_marketing_consent_at": CONSENT,
        "phone": "+4915112345678",
        **fields,
    }
    return CustomerFactory(**values)


def audience(shop, **filters):
    return Audience.objects.create(shop=shop, name=f"Audience {Audience.objects.count() + 1}", **filters)


def campaign(shop, *, audience_=None, send_on=None, send_at=None, **options):
    timing = Campaign.Timing.SHOP_TIME if send_at else Campaign.Timing.CUSTOMER_TIME
    return services.campaign_create(
        shop=shop,
        name=options.pop("name", "Summer sale"),
        audience=audience_ or audience(shop),
        actor=OWNER,
        timing=timing,
        send_on=send_on,
        send_at=send_at,
        **options,
    )


def run(campaign_, *, now, capture, size=None):
    """Schedule the campaign and let the minute tick start it; every chunk task runs (django-q2 sync in tests)."""
    if size is not None:
        _chunk = fanout.CHUNK_SIZE
        fanout.CHUNK_SIZE = size
    try:
        with time_machine.travel(now, tick=False):
            if campaign_.status == Campaign.Status.DRAFT:
                services.campaign_schedule(campaign=campaign_, actor=OWNER)
            with capture(execute=True):
                report = services.campaigns_tick()
    finally:
        if size is not None:
            fanout.CHUNK_SIZE = _chunk
    campaign_.refresh_from_db()
    return report


def to_ms(moment: dt.datetime) -> dt.datetime:
    """SQLite keeps a spread offset to the millisecond, PostgreSQL to the microsecond."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def planned(campaign_):
    return Message.objects.filter(campaign=campaign_).select_related("customer").order_by("customer__id", "id")


# --- local hour, DST ---------------------------------------------------------------------------------------

# 10:00 local on days around daylight saving changes, and the UTC instant it is.
DST_CASES = [
    ("Europe/Berlin", dt.date(2026, 3, 28), dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC)),  # the day before: CET, +1
    (
        "Europe/Berlin",
        dt.date(2026, 3, 29),
        dt.datetime(2026, 3, 29, 8, 0, tzinfo=dt.UTC),
    ),  # last Sunday of March: CEST, +2
    ("Europe/Berlin", dt.date(2026, 10, 24), dt.datetime(2026, 10, 24, 8, 0, tzinfo=dt.UTC)),
    (
        "Europe/Berlin",
        dt.date(2026, 10, 25),
        dt.datetime(2026, 10, 25, 9, 0, tzinfo=dt.UTC),
    ),  # last Sunday of October: back to +1
    ("America/New_York", dt.date(2026, 3, 7), dt.datetime(2026, 3, 7, 15, 0, tzinfo=dt.UTC)),
    ("America/New_York", dt.date(2026, 3, 8), dt.datetime(2026, 3, 8, 14, 0, tzinfo=dt.UTC)),  # EDT from 02:00 that day
    ("America/New_York", dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC)),  # EST again
    ("Asia/Seoul", dt.date(2026, 9, 25), dt.datetime(2026, 9, 25, 1, 0, tzinfo=dt.UTC)),  # Chuseok; no DST in Korea
    ("Australia/Sydney", dt.date(2026, 4, 4), dt.datetime(2026, 4, 3, 23, 0, tzinfo=dt.UTC)),  # AEDT, +11
    (
        "Australia/Sydney",
        dt.date(2026, 4, 5),
        dt.datetime(2026, 4, 5, 0, 0, tzinfo=dt.UTC),
    ),  # AEST from 03:00 that day, +10
    ("Australia/Sydney", dt.date(2026, 10, 4), dt.datetime(2026, 10, 3, 23, 0, tzinfo=dt.UTC)),  # AEDT again from 02:00
]


@pytest.mark.parametrize(("zone", "day", "utc"), DST_CASES)
def test_a_campaign_lands_at_ten_in_each_customers_zone_on_both_sides_of_dst(
    shop, zone, day, utc, django_capture_on_commit_callbacks
):
    someone = customer(shop, zone=zone, country="US")
    sale = campaign(shop, send_on=day)

    run(
        sale,
        now=dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) - dt.timedelta(days=1),
        capture=django_capture_on_commit_callbacks,
    )

    (message,) = planned(sale)
    assert (message.customer, message.status, message.time_zone) == (someone, "scheduled", zone)
    assert message.send_at == utc
    assert message.send_at.astimezone(fanout.ZoneInfo(zone)).time() == dt.time(10, 0)
    assert message.explanation.startswith(f"Campaign “Summer sale”: 10:00 {zone} on {day.isoformat()}")


def test_one_greeting_reaches_korea_berlin_and_new_york_each_at_its_own_ten(shop, django_capture_on_commit_callbacks):
    """Christmas Eve 2026 at 10:00 local: Seoul first, Berlin, then New York; a customer without a zone
    gets the shop's (New York)."""
    seoul = customer(shop, zone="Asia/Seoul", country="KR", language="ko")
    berlin = customer(shop, zone="Europe/Berlin", country="DE")
    new_york = customer(shop, zone="America/New_York", country="US")
    shop_zone = customer(shop, zone="", country="US")
    for country in ("KR", "DE", "US"):
        ApprovedHoliday.objects.create(
            shop=shop,
            country=country,
            key="christmas_eve",
            date=dt.date(2026, 12, 24),
            names={"en": "Christmas Eve"},
            source="calendar",
            approved_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        )
    eve = campaign(
        shop,
        kind=Campaign.Kind.GREETING,
        name="Christmas Eve",
        send_on=dt.date(2026, 12, 24),
        holiday_key="christmas_eve",
        holiday_date=dt.date(2026, 12, 24),
    )

    run(eve, now=dt.datetime(2026, 12, 23, 6, 0, tzinfo=dt.UTC), capture=django_capture_on_commit_callbacks)

    got = {message.customer: (to_ms(message.send_at), message.time_zone, message.trigger) for message in planned(eve)}
    assert got == {
        seoul: (dt.datetime(2026, 12, 24, 1, 0, tzinfo=dt.UTC), "Asia/Seoul", "holiday_greeting"),
        berlin: (dt.datetime(2026, 12, 24, 9, 0, tzinfo=dt.UTC), "Europe/Berlin", "holiday_greeting"),
        new_york: (dt.datetime(2026, 12, 24, 15, 0, tzinfo=dt.UTC), "America/New_York", "holiday_greeting"),
        # The second message at New York's 10:00 goes 1 / (0.9 × 100/s) later: the spread.
        shop_zone: (
            dt.datetime(2026, 12, 24, 15, 0, 0, 11000, tzinfo=dt.UTC),
            "America/New_York",
            "holiday_greeting",
        ),
    }
    assert eve.status == Campaign.Status.SENDING
    # Only countries whose approved calendar has the holiday are greeted.
    ApprovedHoliday.objects.filter(country="US").delete()
    assert audience_count(eve.audience, campaign=eve).total == 2


def test_ten_oclock_in_a_dst_gap_or_fold_is_resolved_explicitly():
    gap, note = fanout.local_moment_of(day=dt.date(2026, 3, 29), at=dt.time(2, 30), zone="Europe/Berlin")
    assert gap == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)  # the clocks jump 02:00 -> 03:00: at 03:00
    assert "02:30 does not exist" in note
    fold, note = fanout.local_moment_of(day=dt.date(2026, 10, 25), at=dt.time(2, 30), zone="Europe/Berlin")
    assert (fold, note) == (dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC), "")  # the first of the two 02:30s


def test_first_order_anniversary_greets_those_whose_first_order_was_on_that_day(
    shop, django_capture_on_commit_callbacks
):
    rule = CareRule.objects.create(shop=shop, name="Greeting rule", trigger="holiday_greeting", channel="sms")
    greeting = HolidayGreeting.objects.create(
        shop=shop, name="Anniversary", rule=rule, audience=audience(shop), holiday_keys=["first_order_anniversary"]
    )
    services.campaign_rule_templates_create(rule=rule)
    anniversary = customer(shop)
    OrderFactory(shop=shop, customer=anniversary, placed_at=dt.datetime(2024, 6, 12, 15, 0, tzinfo=dt.UTC))
    OrderFactory(shop=shop, customer=anniversary, placed_at=dt.datetime(2025, 2, 1, 15, 0, tzinfo=dt.UTC))
    later_first = customer(shop)
    OrderFactory(shop=shop, customer=later_first, placed_at=dt.datetime(2025, 1, 3, 15, 0, tzinfo=dt.UTC))
    OrderFactory(shop=shop, customer=later_first, placed_at=dt.datetime(2025, 6, 12, 15, 0, tzinfo=dt.UTC))
    this_year = customer(shop)
    OrderFactory(shop=shop, customer=this_year, placed_at=dt.datetime(2026, 6, 12, 8, 0, tzinfo=dt.UTC))
    occurrence = Campaign.objects.create(
        shop=shop,
        name="Anniversary 2026-06-12",
        kind=Campaign.Kind.GREETING,
        rule=rule,
        audience=greeting.audience,
        greeting=greeting,
        holiday_key="first_order_anniversary",
        holiday_date=dt.date(2026, 6, 12),
        send_on=dt.date(2026, 6, 12),
        status=Campaign.Status.SCHEDULED,
    )

    run(occurrence, now=dt.datetime(2026, 6, 11, 6, 0, tzinfo=dt.UTC), capture=django_capture_on_commit_callbacks)

    (message,) = planned(occurrence)
    assert message.customer == anniversary
    assert message.idem_key == f"greeting:{greeting.pk}:2026-06-12:{anniversary.pk}"


# --- who is suppressed, and why ------------------------------------------------------------------------------


def test_customers_without_consent_opted_out_unreachable_or_over_budget_are_recorded_as_suppressed(
    shop, django_capture_on_commit_callbacks
):
    ContactBudget.objects.create(shop=shop, per_day=1, per_30_days=4)
    fine = customer(shop)
    email_only = customer(shop, sms_marketing_consent_at=None)
    no_consent = customer(shop, sms_marketing_consent_at=None, email_marketing_consent_at=None)
    opted_out = customer(shop, sms_opted_out_at=CONSENT, email="")
    bad_number = customer(shop, phone="", phone_as_received="0000", phone_problem="not a number", email="")
    busy = customer(shop)
    Message.objects.create(
        shop=shop,
        customer=busy,
        trigger="delivered",
        idem_key="earlier-promo",
        channel="sms",
        language="de",
        time_zone="Europe/Berlin",
        message_class="marketing",
        status="sent",
        anchor_at=dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC),
        not_before=dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC),
        send_at=dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC),
        sent_at=dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC),
    )
    sale = campaign(shop, send_on=dt.date(2026, 7, 1))

    run(sale, now=dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC), capture=django_capture_on_commit_callbacks)

    got = {message.customer: message for message in planned(sale)}
    outcome = {who: (m.status, m.reason, m.channel) for who, m in got.items()}
    assert outcome == {
        fine: ("scheduled", "", "sms"),
        email_only: ("scheduled", "", "email"),
        no_consent: ("suppressed", "no_consent", "sms"),
        opted_out: ("suppressed", "opted_out", "sms"),
        bad_number: ("suppressed", "invalid_address", "sms"),
        busy: ("suppressed", "budget", "sms"),
    }
    assert got[email_only].explanation.endswith("Email instead of SMS: no SMS marketing consent.")
    assert got[no_consent].explanation.endswith("Not sent: no SMS marketing consent.")
    assert got[bad_number].explanation.endswith("Not sent: the phone number “0000” cannot take texts (not a number).")
    assert got[busy].explanation.endswith("Not sent: the contact budget (1/24 h, 4/30 days) has no room for it.")
    assert got[opted_out].finished_at is not None
    assert got[fine].finished_at is None
    progress = campaign_progress(sale)
    assert (progress.planned, progress.scheduled, progress.suppressed) == (
        6,
        2,
        {"no_consent": 1, "opted_out": 1, "invalid_address": 1, "budget": 1},
    )
    # The preview says the same before anything is planned.
    preview = audience_count(sale.audience, campaign=sale, now=dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC))
    assert (preview.total, preview.reachable, preview.suppressed, preview.by_channel) == (
        6,
        2,
        {"no_consent": 1, "opted_out": 1, "invalid_address": 1, "budget": 1},
        {"sms": 1, "email": 1},
    )


def test_a_transactional_campaign_becomes_marketing_where_the_shop_says_so(shop, django_capture_on_commit_callbacks):
    CountryMessageClass.objects.create(shop=shop, country="DE", trigger="campaign", message_class="marketing")
    german = customer(shop, sms_marketing_consent_at=None, email_marketing_consent_at=None)
    american = customer(shop, zone="America/New_York", country="US", sms_marketing_consent_at=None)
    notice = campaign(shop, send_on=dt.date(2026, 7, 1), message_class="transactional")

    run(notice, now=dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC), capture=django_capture_on_commit_callbacks)

    got = {m.customer: (m.message_class, m.status, m.reason) for m in planned(notice)}
    assert got == {
        german: ("marketing", "suppressed", "no_consent"),
        american: ("transactional", "scheduled", ""),
    }


def test_audience_filters_and_the_preview_breakdown(shop, other_shop, django_capture_on_commit_callbacks):
    vip = TagFactory(shop=shop, name="vip")
    korean = customer(shop, zone="Asia/Seoul", country="KR", language="ko")
    korean.tags.add(vip)
    OrderFactory(shop=shop, customer=korean, placed_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    OrderFactory(shop=shop, customer=korean, placed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    one_order = customer(shop, zone="Asia/Seoul", country="KR", language="ko")
    one_order.tags.add(vip)
    OrderFactory(shop=shop, customer=one_order, placed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    long_ago = customer(shop, zone="Asia/Seoul", country="KR", language="ko")
    long_ago.tags.add(vip)
    OrderFactory.create_batch(2, shop=shop, customer=long_ago, placed_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    german = customer(shop)
    german.tags.add(vip)
    OrderFactory.create_batch(2, shop=shop, customer=german, placed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    elsewhere = customer(other_shop, zone="Asia/Seoul", country="KR", language="ko")
    OrderFactory.create_batch(2, shop=other_shop, customer=elsewhere, placed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    segment = audience(shop, countries=["KR"], languages=["ko"], ordered_within_months=6, min_orders=2)
    segment.tags.add(vip)

    with time_machine.travel(dt.datetime(2026, 6, 10, tzinfo=dt.UTC), tick=False):
        preview = audience_count(segment)
    assert (preview.total, preview.by_country, preview.by_language) == (1, {"KR": 1}, {"ko": 1})

    chuseok = campaign(shop, audience_=segment, send_on=dt.date(2026, 9, 25))
    run(chuseok, now=dt.datetime(2026, 9, 24, 6, 0, tzinfo=dt.UTC), capture=django_capture_on_commit_callbacks)
    assert [m.customer for m in planned(chuseok)] == [korean]


# --- crashes and lost tasks -------------------------------------------------------------------------------------


def test_a_crash_inside_a_chunk_after_its_insert_plans_nobody_twice(
    shop, monkeypatch, django_capture_on_commit_callbacks
):
    people = [customer(shop) for _n in range(7)]
    sale = campaign(shop, send_on=dt.date(2026, 7, 1))
    real_chunk_plan = fanout.chunk_plan
    calls = Counter()

    def crashing_chunk_plan(plan, *, cursor, size):
        result = real_chunk_plan(plan, cursor=cursor, size=size)
        calls["chunks"] += 1
        if calls["chunks"] == 2:
            assert Message.objects.filter(campaign=sale).count() == 6, "the second chunk's rows are inserted"
            raise RuntimeError("worker killed before commit")
        return result

    monkeypatch.setattr(fanout, "chunk_plan", crashing_chunk_plan)
    # The worker dies inside the chunk's transaction; django-q2 runs a task once (max_attempts=1).
    with pytest.raises(RuntimeError, match="worker killed"):
        run(sale, now=dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC), size=3, capture=django_capture_on_commit_callbacks)

    sale.refresh_from_db()
    assert (sale.status, sale.cursor) == (Campaign.Status.PLANNING, people[2].pk)
    assert Message.objects.filter(campaign=sale).count() == 3, "the crashed chunk left nothing behind"

    # The minute tick sees the fan-out stalled and enqueues the chunk again, from the cursor.
    monkeypatch.setattr(fanout, "chunk_plan", real_chunk_plan)
    report = run(
        sale, now=dt.datetime(2026, 6, 30, 6, 5, tzinfo=dt.UTC), size=3, capture=django_capture_on_commit_callbacks
    )
    assert report.restarted == 1

    assert sale.status == Campaign.Status.SENDING
    assert sorted(m.customer_id for m in planned(sale)) == [p.pk for p in people]
    sends = [m.send_at for m in planned(sale)]
    assert len(set(sends)) == 7, "the spread went on from the chunks planned before the crash"


def test_a_lost_next_chunk_task_is_picked_up_and_an_old_task_does_nothing(
    shop, monkeypatch, django_capture_on_commit_callbacks
):
    people = [customer(shop) for _n in range(5)]
    sale = campaign(shop, send_on=dt.date(2026, 7, 1))
    monkeypatch.setattr(services, "_fanout_enqueue", lambda campaign_id, cursor: None)  # the broker loses it

    run(sale, now=dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC), size=2, capture=django_capture_on_commit_callbacks)
    # The tick started planning, but no chunk ran: run the first one by hand, its successor is lost too.
    with time_machine.travel(dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC), tick=False):
        first = services.campaign_fanout_chunk(campaign_id=sale.pk, cursor=0, size=2)
    assert first.planned == 2
    sale.refresh_from_db()
    assert sale.cursor == people[1].pk

    # The same task delivered twice (or late) finds the cursor moved and does nothing.
    assert services.campaign_fanout_chunk(campaign_id=sale.pk, cursor=0, size=2) is None
    monkeypatch.undo()

    report = run(
        sale, now=dt.datetime(2026, 6, 30, 6, 1, tzinfo=dt.UTC), size=2, capture=django_capture_on_commit_callbacks
    )
    assert report.restarted == 0, "not stalled yet"
    report = run(
        sale, now=dt.datetime(2026, 6, 30, 6, 4, tzinfo=dt.UTC), size=2, capture=django_capture_on_commit_callbacks
    )
    assert report.restarted == 1
    assert sale.status == Campaign.Status.SENDING
    assert sorted(m.customer_id for m in planned(sale)) == [p.pk for p in people]
    assert Message.objects.values("idem_key").annotate(n=Count("id")).filter(n__gt=1).count() == 0


def test_a_chunk_of_a_campaign_not_planning_does_nothing(shop):
    customer(shop)
    sale = campaign(shop, send_on=dt.date(2026, 7, 1))
    assert services.campaign_fanout_chunk(campaign_id=sale.pk, cursor=0) is None
    Campaign.objects.filter(pk=sale.pk).update(status=Campaign.Status.PAUSED)
    assert services.campaign_fanout_chunk(campaign_id=sale.pk, cursor=0) is None
    assert not Message.objects.exists()


# --- the spread ------------------------------------------------------------------------------------------------


def test_the_spread_never_puts_more_than_the_accounts_rate_into_any_second(shop, django_capture_on_commit_callbacks):
    SmsAccount.objects.create(
        shop=shop,
        label="Twilio",
        account_sid="AC" + "1" * 32,
        auth_token="token",  # noqa: S106 - a test credential
        from_number="+15005550006",
        rate_per_second=3,
    )
    # Berlin and Paris share their UTC 10:00: one moment, one queue for the account.
    for n in range(40):
        customer(shop, zone="Europe/Paris" if n % 2 else "Europe/Berlin", country="FR" if n % 2 else "DE")
    for _n in range(5):
        customer(shop, sms_marketing_consent_at=None)  # by email: its own pace
    sale = campaign(shop, send_on=dt.date(2026, 7, 1))

    run(sale, now=dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC), size=7, capture=django_capture_on_commit_callbacks)

    sms = sorted(m.send_at.timestamp() for m in planned(sale) if m.channel == "sms")
    assert len(sms) == 40
    assert most_in_any_window(sms) <= 3
    assert sms[0] == dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC).timestamp()
    gaps = [later - earlier for earlier, later in zip(sms, sms[1:], strict=False)]
    assert all(abs(gap - 1 / 2.7) < 0.002 for gap in gaps), "evenly spaced across chunks: nothing bunched or skipped"
    email = sorted(m.send_at.timestamp() for m in planned(sale) if m.channel == "email")
    assert email[0] == sms[0]
    assert most_in_any_window(email) <= 50
    last = planned(sale).filter(channel="sms").order_by("-send_at").first()
    assert last.explanation.endswith(", spread +14.4 s.")
    sale.refresh_from_db()
    key = fanout.spread_key(sms[0], "sms")
    assert sale.spread[key] == 40


# --- order audiences --------------------------------------------------------------------------------------------


def test_a_delay_notice_reaches_every_paid_unshipped_order_of_one_warehouse_and_not_one_that_shipped_meanwhile(
    shop, django_capture_on_commit_callbacks
):
    def paid(warehouse, status=Order.Status.PAID):
        placed = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
        return OrderFactory(
            shop=shop, customer=customer(shop), status=status, warehouse=warehouse, placed_at=placed, paid_at=placed
        )

    east = [paid("east"), paid("east"), paid("east")]
    shipped = paid("east", Order.Status.SHIPPED)
    unpaid = paid("east", Order.Status.PENDING_PAYMENT)
    west = paid("west")
    late_parcels = audience(shop, target=Audience.Target.ORDERS, order_statuses=["paid"], warehouses=["east"])
    notice = campaign(
        shop,
        audience_=late_parcels,
        name="Storm in the east",
        message_class="transactional",
        send_at=dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC),
        templates=[{"channel": "sms", "language": "de", "body": "Bestellung {{ order.number }} kommt später."}],
    )

    run(notice, now=dt.datetime(2026, 6, 10, 13, 0, tzinfo=dt.UTC), capture=django_capture_on_commit_callbacks)

    got = {m.order: m for m in Message.objects.filter(campaign=notice).select_related("order")}
    assert set(got) == set(east)
    assert shipped not in got
    assert unpaid not in got
    assert west not in got
    assert got[east[0]].idem_key == f"campaign:{notice.pk}:order:{east[0].pk}"

    # One of them ships before the notice goes out: it is not needed any more.
    with time_machine.travel(dt.datetime(2026, 6, 10, 13, 30, tzinfo=dt.UTC), tick=False):
        orders.order_mark_shipped(order=east[1], actor=OWNER, carrier="DHL", tracking_number="JJD1")
    with (
        time_machine.travel(dt.datetime(2026, 6, 10, 14, 1, tzinfo=dt.UTC), tick=False),
        Dispatcher(channels=["sms"]) as dispatcher,
    ):
        report = dispatcher.batch("sms")
    assert dict(report.tally) == {"sent": 2, "suppressed": 1}
    skipped = Message.objects.get(order=east[1], campaign=notice)
    assert (skipped.status, skipped.reason) == ("suppressed", "order_changed")
    assert skipped.explanation.endswith("Not sent: the order is shipped now, no longer in the campaign's audience.")
    sent = Message.objects.get(order=east[0], campaign=notice)
    assert sent.body == f"Bestellung {east[0].number} kommt später."


def test_the_rest_api_takes_and_shows_the_warehouse_an_order_ships_from(shop, client):
    cache.clear()
    token = api_key_create(shop=shop, name="erp")[1]
    body = {
        "number": "#77",
        "currency": "usd",
        "placed_at": "2026-06-01T09:00:00Z",
        "warehouse": "east",
        "lines": [{"title": "Tent", "quantity": 1, "unit_price": "120.00"}],
    }

    def put(payload):
        return client.put(
            "/api/v1/orders/o-77", payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    created = put(body)
    assert created.status_code == 201, created.content
    assert created.json()["warehouse"] == "east"
    moved = put(body | {"warehouse": "west"})
    assert moved.json()["warehouse"] == "west"
    assert Order.objects.get(external_id="o-77").warehouse == "west"
    assert put(body | {"warehouse": "x" * 101}).json()["error"]["fields"].keys() == {"warehouse"}


def test_a_holiday_approved_without_a_country_greets_every_country_and_unapproved_greets_nobody(shop):
    customer(shop, zone="Asia/Seoul", country="KR", language="ko")
    customer(shop)
    day = dt.date(2026, 11, 11)
    rule = CareRule.objects.create(shop=shop, name="Greeting rule", trigger="holiday_greeting")
    greeting_date = Campaign(
        shop=shop,
        audience=audience(shop),
        rule=rule,
        kind="holiday_greeting",
        holiday_key="shop:11-11",
        holiday_date=day,
    )
    assert audience_count(greeting_date.audience, campaign=greeting_date).total == 0, "not approved: nobody"
    ApprovedHoliday.objects.create(
        shop=shop, country="", key="shop:11-11", date=day, names={"en": "11.11"}, source="shop", approved_at=CONSENT
    )
    assert audience_count(greeting_date.audience, campaign=greeting_date).total == 2

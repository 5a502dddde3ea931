"""SLA clocks of support cases: counted in the shop's business hours (Alpha Shoes: New York, Monday to Friday
09:00–17:00, US public holidays closed), across nights, weekends, holidays and waiting for the customer; and the
case's due time, the soonest of its clocks, its items' answer-by times and its disputes' deadlines."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from merchant.actors import Actor
from merchant.support_handoff import PersonNeeded, handoff_offer
from returns.models import Case, CaseEvent, CaseItem, Dispute
from returns.services.case_messages import case_reply_send
from returns.services.cases import (
    case_customer_message_add,
    case_from_handoff,
    case_get_or_create,
    case_item_attach,
    case_status_set,
)
from returns.services.sla import case_due_refresh
from returns.tests.factories import DisputeFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
SYSTEM = Actor.system("test")


def ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


@pytest.fixture
def new_case(shop, order, support_settings):
    def make(at: dt.datetime) -> Case:
        case, created = case_get_or_create(shop=shop, order=order, customer=order.customer, actor=SYSTEM, now=at)
        assert created
        return case

    return make


def test_a_case_made_late_on_friday_is_due_for_a_first_answer_on_monday_afternoon(new_case):
    # Friday 16:00: one business hour on Friday, seven on Monday; the night and the weekend do not count.
    case = new_case(ny(2026, 6, 5, 16, 0))
    assert case.first_response_due_at == ny(2026, 6, 8, 16, 0)
    # 40 business hours: Friday 1 h, then Monday to Thursday 32 h, then 7 h on Friday 12 June.
    assert case.resolution_due_at == ny(2026, 6, 12, 16, 0)
    assert case.due_at == case.first_response_due_at
    created = CaseEvent.objects.get(case=case, action="created")
    assert created.details["first_response_due_at"] == case.first_response_due_at.isoformat()


def test_a_public_holiday_is_a_closed_day(new_case):
    # Wednesday 25 November 2026, noon; Thursday is Thanksgiving: 5 h on Wednesday, 3 h on Friday.
    case = new_case(ny(2026, 11, 25, 12, 0))
    assert case.first_response_due_at == ny(2026, 11, 27, 12, 0)


def test_a_case_made_at_night_starts_its_clock_when_the_shop_opens(new_case):
    case = new_case(ny(2026, 6, 9, 23, 30))  # Tuesday night
    assert case.first_response_due_at == ny(2026, 6, 10, 17, 0)


def test_the_clock_counts_across_the_change_to_summer_time(new_case, support_settings):
    # A shop open around the clock on Sundays: on 8 March 2026 New York's clocks skip 02:00–03:00.
    support_settings.business_hours = {"7": [["00:00", "24:00"]]}
    support_settings.first_response_hours = 4
    support_settings.save()
    case = new_case(ny(2026, 3, 8, 0, 30))
    # 00:30 + 4 business hours is 05:30 on the wall clock: only 4 real hours passed, one was skipped.
    assert case.first_response_due_at == ny(2026, 3, 8, 5, 30)
    assert case.first_response_due_at - ny(2026, 3, 8, 0, 30) == dt.timedelta(hours=4)


def test_waiting_for_the_customer_pauses_the_resolution_clock_by_the_business_time_waited(new_case, agent):
    case = new_case(ny(2026, 6, 8, 9, 0))  # Monday 09:00
    assert case.resolution_due_at == ny(2026, 6, 12, 17, 0)
    case_status_set(case=case, to=Case.Status.WAITING_ON_CUSTOMER, actor=Actor.staff(agent), now=ny(2026, 6, 9, 9, 0))
    case.refresh_from_db()
    assert case.due_at is None, "nothing is due while the customer has the ball"
    assert case.waiting_since == ny(2026, 6, 9, 9, 0)
    # The customer answers on Thursday 09:00: two business days (16 h) waited; a weekend lies ahead.
    case_customer_message_add(
        shop=case.shop, order=case.order, customer=case.customer, body="Here is the photo.", channel="sms",
        actor=Actor.customer("customer"), at=ny(2026, 6, 11, 9, 0),
    )  # fmt: skip
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert case.waiting_since is None
    assert case.resolution_due_at == ny(2026, 6, 16, 17, 0)  # Friday 17:00 + 16 h = Tuesday 17:00
    resumed = CaseEvent.objects.get(case=case, to_status="open", from_status="waiting_on_customer")
    assert resumed.details["waited_business_minutes"] == 16 * 60


def test_waiting_over_a_weekend_counts_only_the_business_hours(new_case, agent):
    case = new_case(ny(2026, 6, 8, 9, 0))
    case_status_set(case=case, to=Case.Status.WAITING_ON_CUSTOMER, actor=Actor.staff(agent), now=ny(2026, 6, 12, 16, 0))
    case_status_set(case=case, to=Case.Status.OPEN, actor=Actor.staff(agent), now=ny(2026, 6, 15, 10, 0))
    case.refresh_from_db()
    # Friday 16–17 and Monday 9–10: two business hours waited.
    assert case.resolution_due_at == ny(2026, 6, 12, 17, 0) + dt.timedelta(days=3, hours=-6)  # Monday 11:00


def test_the_first_reply_stops_the_first_response_clock(new_case, agent, shop):
    case = new_case(ny(2026, 6, 8, 9, 0))
    case_reply_send(case=case, actor=Actor.staff(agent), body="We are on it.", now=ny(2026, 6, 8, 10, 0))
    case.refresh_from_db()
    assert case.first_responded_at == ny(2026, 6, 8, 10, 0)
    assert case.due_at == case.resolution_due_at


def test_a_disputes_deadline_comes_first_and_keeps_running_while_waiting(new_case, shop, order, agent):
    case = new_case(ny(2026, 6, 8, 9, 0))
    dispute = DisputeFactory(order=order, due_at=ny(2026, 6, 8, 12, 0))
    case_item_attach(
        shop=shop, order=order, customer=order.customer, kind=CaseItem.Kind.DISPUTE,
        source=f"returns.dispute:{dispute.pk}", summary="Chargeback: fraudulent", actor=SYSTEM,
        due_at=dispute.due_at, dispute=dispute, now=ny(2026, 6, 8, 9, 5),
    )  # fmt: skip
    case.refresh_from_db()
    assert case.due_at == ny(2026, 6, 8, 12, 0)
    case_status_set(case=case, to=Case.Status.WAITING_ON_CUSTOMER, actor=Actor.staff(agent), now=ny(2026, 6, 8, 10, 0))
    case.refresh_from_db()
    assert case.due_at == ny(2026, 6, 8, 12, 0), "the bank does not wait for the customer"
    # The provider moves the deadline: the case follows when the dispute is attached or refreshed again.
    Dispute.objects.filter(pk=dispute.pk).update(due_at=ny(2026, 6, 9, 12, 0))
    case_due_refresh(case=case)
    assert Case.objects.get(pk=case.pk).due_at == ny(2026, 6, 9, 12, 0)
    # Answered (submitted): nothing is due while waiting.
    Dispute.objects.filter(pk=dispute.pk).update(status=Dispute.Status.SUBMITTED)
    case_due_refresh(case=case)
    assert Case.objects.get(pk=case.pk).due_at is None


def test_resolving_clears_the_due_time_and_new_work_opens_the_case_with_a_fresh_resolution_clock(new_case, agent):
    case = new_case(ny(2026, 6, 8, 9, 0))
    case_status_set(case=case, to=Case.Status.RESOLVED, actor=Actor.staff(agent), now=ny(2026, 6, 8, 11, 0))
    case.refresh_from_db()
    assert (case.status, case.due_at, case.resolved_at) == ("resolved", None, ny(2026, 6, 8, 11, 0))
    case_customer_message_add(
        shop=case.shop, order=case.order, customer=case.customer, body="It broke again.", channel="email",
        actor=Actor.customer("customer"), at=ny(2026, 6, 22, 9, 0),
    )  # fmt: skip
    case.refresh_from_db()
    assert case.status == "open"
    assert case.resolved_at is None
    assert case.resolution_due_at == ny(2026, 6, 26, 17, 0)
    # Resolved without a word to the customer: they are owed a first answer within 8 business hours of now.
    assert case.due_at == case.first_response_due_at == ny(2026, 6, 22, 17, 0)


def test_an_unhappy_reviewer_handed_over_becomes_a_review_item_once_due_by_the_reviews_answer_time(
    shop, order, support_settings, agent
):
    due = ny(2026, 6, 8, 13, 0)
    person = PersonNeeded(
        shop_id=shop.pk, source="reviews.attentionitem:42", kind="low_rating", summary="1/5 · Wool socks · Broke.",
        due_at=due, customer_id=order.customer_id, order_id=order.pk, admin_path="/admin/reviews/review/7/change/",
    )  # fmt: skip
    reference = handoff_offer(person)
    again = case_from_handoff(person)
    case = Case.objects.get()
    assert reference == again == f"case:{case.pk}"
    (item,) = case.items.all()
    assert (item.kind, item.summary, item.admin_path, item.due_at) == (
        "review", "1/5 · Wool socks · Broke.", "/admin/reviews/review/7/change/", due,
    )  # fmt: skip
    assert case.due_at == min(due, case.first_response_due_at)
    assert case.priority == Case.Priority.HIGH
    # A reply answers the reviewer: the item's answer-by time is met.
    case_reply_send(case=case, actor=Actor.staff(agent), body="So sorry: a new pair is on its way.")
    item.refresh_from_db()
    case.refresh_from_db()
    assert item.due_at is None
    assert case.due_at == case.resolution_due_at


def test_another_shops_customer_or_order_is_never_linked_by_a_handoff(shop, other_shop, support_settings):
    from returns.tests.factories import delivered_order

    foreign = delivered_order(shop=other_shop)
    reference = case_from_handoff(
        PersonNeeded(
            shop_id=shop.pk, source="reviews.attentionitem:1", kind="detractor", summary="NPS 2",
            due_at=ny(2026, 6, 8, 13, 0), customer_id=foreign.customer_id, order_id=foreign.pk,
        )
    )  # fmt: skip
    case = Case.objects.get(pk=int(reference.split(":")[1]))
    assert (case.shop_id, case.order_id, case.customer_id) == (shop.pk, None, None)

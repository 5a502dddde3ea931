"""Review requests from delivery to the customer's inbox, with time travel: timing per product and category,
the caps, holds that make a request wait and then let it go, cancellation, consent by country, reminders."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from journeys.holds import Hold, HoldSpec, hold_register, hold_unregister
from journeys.models import CareRule, Message
from merchant.models import Customer
from merchant.services import orders
from reviews.models import ReviewDelay, ReviewRequest
from reviews.services.requests import review_reminders_plan, review_requests_plan
from reviews.services.submissions import ItemAnswer, review_page_submit
from reviews.tests.factories import DELIVERED_AT, SYSTEM, delivered_order, drain

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def requests_of(order) -> list[ReviewRequest]:
    return list(ReviewRequest.objects.filter(order=order).order_by("due_at").prefetch_related("items"))


def titles(request: ReviewRequest) -> list[str]:
    return [item.title for item in request.items.all()]


@pytest.fixture
def per_product_policy(policy, products):
    """Vouchers are judged the next day, the washing machine after a month; everything else after a week."""
    ReviewDelay.objects.create(policy=policy, category="vouchers", delay_days=1)
    ReviewDelay.objects.create(policy=policy, product=products["washer"], delay_days=30)
    policy.customer_cap_days = 0  # this test is about timing; the cap has its own
    policy.save()
    return policy


class TestTiming:
    def test_each_group_of_items_is_asked_about_when_it_can_be_judged(
        self, review_shop, customer, products, per_product_policy
    ):
        order = delivered_order(review_shop, customer, [products["voucher"], products["socks"], products["washer"]])

        voucher, socks, washer = requests_of(order)
        assert (titles(voucher), voucher.due_at) == (["Dinner for two voucher"], DELIVERED_AT + DAY)
        assert (titles(socks), socks.due_at) == (["Wool socks"], DELIVERED_AT + 7 * DAY)
        assert (titles(washer), washer.due_at) == (["Washing machine"], DELIVERED_AT + 30 * DAY)
        assert "Dinner for two voucher: 1 days (category “vouchers”)" in voucher.explanation
        assert "Washing machine: 30 days (product “Washing machine”)" in washer.explanation
        assert "Wool socks: 7 days (the shop's default)" in socks.explanation
        assert {request.status for request in (voucher, socks, washer)} == {"open"}
        messages = Message.objects.filter(order=order, trigger="review_request").order_by("send_at")
        assert [message.send_at for message in messages] == [request.due_at for request in (voucher, socks, washer)]

        # Nothing is due before the voucher's day; then exactly one email, with a link to its page.
        with time_machine.travel(DELIVERED_AT + DAY - dt.timedelta(minutes=1), tick=False):
            assert drain() == {}
        with time_machine.travel(DELIVERED_AT + DAY, tick=False):
            assert drain() == {"sent": 1}
        email = mail.outbox[-1]
        assert email.to == ["jamie@example.com"]
        assert email.subject == "How do you like your order #1001?"
        assert re.search(r"https?://\S+/l/\S+", email.body), "the review link goes out as a tracked link"
        with time_machine.travel(DELIVERED_AT + 7 * DAY, tick=False):
            assert drain() == {"sent": 1}
        with time_machine.travel(DELIVERED_AT + 30 * DAY, tick=False):
            assert drain() == {"sent": 1}
        assert Message.objects.filter(order=order, trigger="review_request", status="sent").count() == 3

    def test_the_request_is_sent_inside_the_customers_hours(self, review_shop, customer, products, policy):
        # Delivered at 02:00 in New York: a week later is 02:00 too, so the email waits for 09:00.
        at = dt.datetime(2026, 6, 3, 6, 0, tzinfo=dt.UTC)
        order = delivered_order(review_shop, customer, [products["socks"]], at=at)
        (request,) = requests_of(order)
        message = request.message
        assert message.not_before == at + 7 * DAY
        assert message.send_at == dt.datetime(2026, 6, 10, 13, 0, tzinfo=dt.UTC)
        assert "Moved to 10 Jun 09:00 America/New_York" in message.explanation

    def test_a_repeated_delivery_plans_nothing_twice(self, review_shop, customer, products):
        order = delivered_order(review_shop, customer, [products["socks"]])
        review_requests_plan(order=order, delivered_at=DELIVERED_AT)
        assert ReviewRequest.objects.filter(order=order).count() == 1
        assert Message.objects.filter(order=order, trigger="review_request").count() == 1


class TestCaps:
    def test_a_second_request_within_30_days_waits_until_the_cap_allows_it(
        self, review_shop, customer, products, policy
    ):
        first = delivered_order(review_shop, customer, [products["socks"]], number="#1")
        second = delivered_order(review_shop, customer, [products["voucher"]], number="#2", at=DELIVERED_AT + 3 * DAY)
        (asked_first,) = requests_of(first)
        (asked_second,) = requests_of(second)
        assert asked_first.due_at == DELIVERED_AT + 7 * DAY
        assert asked_second.due_at == asked_first.due_at + 30 * DAY, "deferred, not dropped"
        assert "one request per customer in 30 days" in asked_second.explanation
        assert asked_second.message.send_at >= asked_second.due_at

    def test_a_product_is_asked_about_once_per_customer_in_12_months(self, review_shop, customer, products, policy):
        policy.customer_cap_days = 0
        policy.save()
        first = delivered_order(review_shop, customer, [products["socks"]], number="#1")
        again = delivered_order(
            review_shop, customer, [products["socks"], products["washer"]], number="#2", at=DELIVERED_AT + 60 * DAY
        )
        next_year = delivered_order(
            review_shop, customer, [products["socks"]], number="#3", at=DELIVERED_AT + 400 * DAY
        )
        assert [titles(request) for request in requests_of(first)] == [["Wool socks"]]
        (request,) = requests_of(again)
        assert titles(request) == ["Washing machine"]
        assert "Not asked again within 365 days: Wool socks" in request.explanation
        assert [titles(request) for request in requests_of(next_year)] == [["Wool socks"]]

    def test_a_cancelled_request_does_not_count(self, review_shop, customer, products, policy):
        first = delivered_order(review_shop, customer, [products["socks"]], number="#1")
        with time_machine.travel(DELIVERED_AT + DAY, tick=False):
            orders.order_refund_record(order=first, actor=SYSTEM)
        second = delivered_order(review_shop, customer, [products["socks"]], number="#2", at=DELIVERED_AT + 2 * DAY)
        (request,) = requests_of(second)
        assert (titles(request), request.due_at) == (["Wool socks"], DELIVERED_AT + 9 * DAY)


class TestWhatStopsARequest:
    def test_a_refund_cancels_the_request_and_its_message(self, review_shop, customer, products):
        order = delivered_order(review_shop, customer, [products["socks"]])
        with time_machine.travel(DELIVERED_AT + 2 * DAY, tick=False):
            orders.order_refund_record(order=order, actor=SYSTEM)
        (request,) = requests_of(order)
        assert (request.status, request.status_reason) == ("cancelled", "the order was refunded.")
        request.message.refresh_from_db()
        assert request.message.status == "cancelled"
        with time_machine.travel(DELIVERED_AT + 7 * DAY, tick=False):
            assert drain() == {}
        assert not mail.outbox

    def test_a_partial_refund_keeps_it(self, review_shop, customer, products):
        order = delivered_order(review_shop, customer, [products["socks"], products["washer"]])
        with time_machine.travel(DELIVERED_AT + 2 * DAY, tick=False):
            orders.order_refund_record(order=order, actor=SYSTEM, amount="20")
        with time_machine.travel(DELIVERED_AT + 7 * DAY, tick=False):
            assert drain() == {"sent": 1}

    def test_without_an_active_review_rule_nothing_is_planned(self, review_shop, customer, products):
        CareRule.objects.filter(shop=review_shop, trigger="review_request").update(is_active=False)
        order = delivered_order(review_shop, customer, [products["socks"]])
        assert not ReviewRequest.objects.filter(order=order).exists()

    def test_in_germany_a_request_is_marketing_and_needs_consent(self, review_shop, products):
        from journeys.consent_policy import country_message_classes_default_create

        country_message_classes_default_create(review_shop)
        anna = Customer.objects.create(
            shop=review_shop, first_name="Anna", email="anna@example.de", country="DE", language="de"
        )
        order = delivered_order(review_shop, anna, [products["socks"]])
        (request,) = requests_of(order)
        assert request.status == "skipped"
        assert request.message.message_class == "marketing"
        assert (request.message.status, request.message.reason) == ("suppressed", "no_consent")
        assert "Marketing in Germany: needs consent." in request.status_reason

        with_consent = Customer.objects.create(
            shop=review_shop,
            email="ben@example.de",
            country="DE",
            language="de",
            email_marketing_consent_at=DELIVERED_AT,
        )
        order = delivered_order(review_shop, with_consent, [products["socks"]], number="#2")
        (request,) = requests_of(order)
        assert (request.status, request.message.status, request.message.message_class) == (
            "open",
            "scheduled",
            "marketing",
        )


class TestHolds:
    def test_a_late_shipment_of_another_order_holds_the_request_until_it_ships(self, review_shop, customer, products):
        order = delivered_order(review_shop, customer, [products["socks"]])
        with time_machine.travel(DELIVERED_AT + 5 * DAY, tick=False):
            late = orders.order_create(
                shop=review_shop,
                number="#2002",
                currency="USD",
                actor=SYSTEM,
                customer=customer,
                ship_by=DELIVERED_AT + 6 * DAY,
                lines=[orders.LineInput(title="Scarf")],
            )
            orders.order_mark_paid(order=late, actor=SYSTEM)
        with time_machine.travel(DELIVERED_AT + 7 * DAY, tick=False):
            assert drain() == {"held": 1}
        message = Message.objects.get(order=order, trigger="review_request")
        assert message.status == "scheduled"
        assert "Held: order #2002 of the customer is late to ship." in message.explanation
        assert message.send_at == DELIVERED_AT + 7 * DAY + dt.timedelta(hours=6)
        assert message.attempts == 0, "waiting is not an attempt"

        with time_machine.travel(DELIVERED_AT + 7 * DAY + dt.timedelta(hours=1), tick=False):
            orders.order_mark_shipped(order=late, actor=SYSTEM, carrier="UPS")
        with time_machine.travel(DELIVERED_AT + 7 * DAY + dt.timedelta(hours=6), tick=False):
            assert drain() == {"sent": 1}
        message.refresh_from_db()
        assert message.status == "sent"
        assert message.explanation.count("Held:") == 1

    def test_an_open_return_registered_by_another_app_holds_it_and_it_resumes_after(
        self, review_shop, customer, products
    ):
        open_returns = set()

        def returns_open(messages, *, now):  # what the returns app will register
            return {
                message.pk: Hold("a return is open", until=now + dt.timedelta(hours=1))
                for message in messages
                if message.order_id in open_returns
            }

        hold_register(HoldSpec(name="return_open", label="A return is open", find=returns_open))
        try:
            order = delivered_order(review_shop, customer, [products["socks"]])
            open_returns.add(order.pk)
            with time_machine.travel(DELIVERED_AT + 7 * DAY, tick=False):
                assert drain() == {"held": 1}
            with time_machine.travel(DELIVERED_AT + 7 * DAY + dt.timedelta(hours=1), tick=False):
                assert drain() == {"held": 1}
                open_returns.clear()
            with time_machine.travel(DELIVERED_AT + 7 * DAY + dt.timedelta(hours=2), tick=False):
                assert drain() == {"sent": 1}
        finally:
            hold_unregister("return_open")
        message = Message.objects.get(order=order, trigger="review_request")
        assert message.status == "sent"
        assert message.explanation.count("Held: a return is open.") == 1


class TestReminders:
    def sent_request(self, review_shop, customer, products):
        order = delivered_order(review_shop, customer, [products["socks"]])
        with time_machine.travel(DELIVERED_AT + 7 * DAY, tick=False):
            assert drain() == {"sent": 1}
        return requests_of(order)[0]

    def test_one_reminder_five_days_after_the_request_when_nobody_answered(self, review_shop, customer, products):
        request = self.sent_request(review_shop, customer, products)
        with time_machine.travel(DELIVERED_AT + 12 * DAY - dt.timedelta(minutes=1), tick=False):
            assert review_reminders_plan() == 0
        with time_machine.travel(DELIVERED_AT + 12 * DAY, tick=False):
            assert review_reminders_plan() == 1
            assert review_reminders_plan() == 0, "planned once"
            assert drain() == {"sent": 1}
        assert mail.outbox[-1].subject == "A minute for your order #1001?"
        with time_machine.travel(DELIVERED_AT + 30 * DAY, tick=False):
            assert review_reminders_plan() == 0, "the policy's default is one reminder"
        reminder = Message.objects.get(trigger="review_reminder")
        assert reminder.step == f"review-{request.pk}-reminder-1"

    def test_the_scheduled_task_plans_them_through_django_q(self, review_shop, customer, products):
        from django_q.tasks import async_task, result

        self.sent_request(review_shop, customer, products)
        with time_machine.travel(DELIVERED_AT + 12 * DAY, tick=False):
            task_id = async_task("reviews.tasks.review_reminders_plan_task", sync=True)
            assert result(task_id) == 1

    def test_no_reminder_once_the_review_is_written_and_a_planned_one_is_cancelled(
        self, review_shop, customer, products, policy
    ):
        policy.reminder_count = 2
        policy.save()
        request = self.sent_request(review_shop, customer, products)
        with time_machine.travel(DELIVERED_AT + 12 * DAY, tick=False):
            assert review_reminders_plan() == 1
        reminder = Message.objects.get(trigger="review_reminder")
        reminder.send_at = DELIVERED_AT + 13 * DAY  # not sent yet when the customer answers
        reminder.save(update_fields=["send_at"])
        with time_machine.travel(DELIVERED_AT + 12 * DAY + dt.timedelta(hours=1), tick=False):
            item = request.items.get()
            review_page_submit(
                request=request, answers=[ItemAnswer(item_id=item.pk, rating=5)], nps=None, language="en"
            )
        reminder.refresh_from_db()
        assert reminder.status == "cancelled"
        assert "the customer wrote a review" in reminder.explanation
        with time_machine.travel(DELIVERED_AT + 40 * DAY, tick=False):
            assert review_reminders_plan() == 0
            assert drain() == {}

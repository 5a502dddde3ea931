"""Texts customers send, through Twilio's real inbound webhook: a reply lands in the support queue, and at night
it is answered once (by SMS) with the FAQ and when to expect an answer; keywords never reach the queue."""

import pytest
import time_machine

from journeys.models import CareRule, InboundSms, Message
from journeys.tests.twilio_posts import PUBLIC, drain
from merchant.models import Customer
from merchant.services.shops import merchant_create
from returns.models import Case, CaseEntry, SupportSettings
from returns.tests.customer_messages import (
    ANNA,
    BETA_NUMBER,
    FRIDAY_NIGHT,
    SATURDAY_SMALL_HOURS,
    WEDNESDAY_MORNING,
    berlin_shop_setup,
    customer_in,
    text,
    twilio_faked,
)
from returns.tests.factories import delivered_order

pytestmark = pytest.mark.django_db
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def twilio(settings):
    yield from twilio_faked(settings)


@pytest.fixture
def alpha(shop, twilio):
    return berlin_shop_setup(shop, base_url=twilio.base_url)


@pytest.fixture
def anna(alpha):
    return customer_in(alpha)


@pytest.fixture
def anna_order(alpha, anna):
    return delivered_order(shop=alpha, customer=anna, number="#1001")


def entries(case: Case) -> list[tuple[str, str]]:
    return [(entry.kind, entry.channel) for entry in case.entries.order_by("at", "id")]


class TestAtNight:
    def test_a_reply_at_23_lands_in_the_queue_and_is_answered_once_by_sms_with_the_faq_and_the_expected_time(
        self, client, twilio, anna, anna_order
    ):
        # Given Anna texts the shop at 23:00 on a Friday (closed until Monday 09:00; first answer within 4 h)
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            answer = text(client, twilio, "Hi, my parcel has not arrived yet")

            # Then the text is on the case of her order in the queue, with one automatic answer planned
            assert answer == EMPTY_TWIML  # the answer goes through the outbox, not in Twilio's reply
            case = Case.objects.get(shop=anna.shop)
            assert (case.order, case.customer, case.status) == (anna_order, anna, Case.Status.NEW)
            assert entries(case) == [("customer_message", "sms"), ("auto_reply", "sms")]
            assert case.entries.get(kind="customer_message").body == "Hi, my parcel has not arrived yet"
            message = Message.objects.get(trigger="auto_reply")
            assert (message.customer, message.channel, message.status) == (anna, "sms", "scheduled")
            assert case.entries.get(kind="auto_reply").message == message

            # When the dispatcher runs (any hour: the customer just wrote)
            assert drain() == {"sent": 1}

        # Then Anna gets one text with the FAQ and when the team is back and answers, in her zone
        [sent] = twilio.messages
        assert sent["to"] == ANNA
        assert "we are back Monday 09:00; expect an answer by Monday 13:00" in sent["body"]
        assert "Where is my parcel? Use the tracking link in your shipping text." in sent["body"]
        # a text stays short: the entries that do not fit are left out
        assert "When is my refund paid?" not in sent["body"]
        message.refresh_from_db()
        assert message.segments <= 2
        assert "expect an answer by Monday 13:00" in case.entries.get(kind="auto_reply").body

    def test_a_second_text_the_same_night_lands_in_the_queue_without_a_second_answer(
        self, client, twilio, anna, anna_order
    ):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, "Hi, my parcel has not arrived yet")
            assert drain() == {"sent": 1}
        # When she texts again at 02:30, still before the team is back
        with time_machine.travel(SATURDAY_SMALL_HOURS, tick=False):
            text(client, twilio, "Hello? Anyone there?")
            assert drain() == {}

        case = Case.objects.get()
        assert entries(case) == [("customer_message", "sms"), ("auto_reply", "sms"), ("customer_message", "sms")]
        assert Message.objects.filter(trigger="auto_reply").count() == 1
        assert len(twilio.messages) == 1

    def test_five_texts_about_two_orders_in_one_night_get_one_answer(self, client, twilio, anna, anna_order):
        other_order = delivered_order(shop=anna.shop, customer=anna, number="#1002", days_ago=10)
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            for body in ["Order #1002 is wrong", "hello?", "#1001 too", "call me", "thanks"]:
                text(client, twilio, body)
            drain()

        assert Message.objects.filter(trigger="auto_reply").count() == 1
        assert len(twilio.messages) == 1
        # each text is on the case of the order it names, else of her latest order
        assert Case.objects.get(order=other_order).entries.filter(kind="customer_message").count() == 1
        assert Case.objects.get(order=anna_order).entries.filter(kind="customer_message").count() == 4

    def test_the_next_closed_period_gets_its_own_answer(self, client, twilio, anna, anna_order):
        with time_machine.travel(WEDNESDAY_MORNING.replace(hour=22), tick=False):
            text(client, twilio, "Wednesday night question")
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, "Friday night question")

        assert Message.objects.filter(trigger="auto_reply").count() == 2

    def test_nothing_is_answered_when_the_shop_turned_auto_replies_off(self, client, twilio, anna, anna_order):
        SupportSettings.objects.filter(shop=anna.shop).update(auto_reply_enabled=False)
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, "Hi, my parcel has not arrived yet")

        assert entries(Case.objects.get()) == [("customer_message", "sms")]
        assert not Message.objects.filter(trigger="auto_reply").exists()

    def test_nothing_is_answered_when_the_owner_turned_the_rule_off(self, client, twilio, anna, anna_order):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, "first")
        CareRule.objects.filter(shop=anna.shop, trigger="auto_reply").update(is_active=False)
        with time_machine.travel(FRIDAY_NIGHT.replace(day=19), tick=False):
            text(client, twilio, "a week later")

        assert Message.objects.filter(trigger="auto_reply").count() == 1


class TestInBusinessHours:
    def test_a_text_at_10_on_a_business_day_lands_in_the_queue_unanswered(self, client, twilio, anna, anna_order):
        with time_machine.travel(WEDNESDAY_MORNING, tick=False):
            answer = text(client, twilio, "Can I change the size?")
            assert drain() == {}

        assert answer == EMPTY_TWIML
        case = Case.objects.get()
        assert (case.order, entries(case)) == (anna_order, [("customer_message", "sms")])
        assert not Message.objects.filter(trigger="auto_reply").exists()
        assert twilio.messages == []


class TestKeywordsAndLooseWords:
    @pytest.mark.parametrize("body", ["STOP", "СТОП", "退订", "START", "HELP"])
    def test_a_keyword_never_lands_in_the_queue_nor_gets_an_auto_reply(self, client, twilio, anna, anna_order, body):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, body)

        assert InboundSms.objects.get().body == body  # journeys kept it and acted on it
        assert not Case.objects.exists()
        assert not CaseEntry.objects.exists()
        assert not Message.objects.filter(trigger="auto_reply").exists()

    def test_words_that_may_mean_stop_land_in_the_queue_for_a_person_but_are_never_answered(
        self, client, twilio, anna, anna_order
    ):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, "wrong number")

        assert InboundSms.objects.get().kind == "possible_opt_out"
        assert entries(Case.objects.get()) == [("customer_message", "sms")]
        assert not Message.objects.filter(trigger="auto_reply").exists()


class TestSenders:
    def test_a_number_the_shop_does_not_know_becomes_a_customer_whose_texts_gather_on_one_case(
        self, client, twilio, alpha
    ):
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, "Do you ship to Austria?", from_="+4917612345678")
            text(client, twilio, "And to Switzerland?", from_="+4917612345678")

        stranger = Customer.objects.get(shop=alpha, phone="+4917612345678")
        case = Case.objects.get()
        assert (case.order, case.customer) == (None, stranger)
        assert entries(case) == [("customer_message", "sms"), ("auto_reply", "sms"), ("customer_message", "sms")]

    def test_a_shops_number_never_files_a_text_into_another_shops_queue(self, client, twilio, alpha, other_shop):
        # Given Anna is a customer of both shops, each with its own number
        beta = berlin_shop_setup(other_shop, number=BETA_NUMBER, base_url=twilio.base_url)
        anna_alpha, anna_beta = customer_in(alpha), customer_in(beta)
        delivered_order(shop=alpha, customer=anna_alpha, number="#1001")
        delivered_order(shop=beta, customer=anna_beta, number="#1001")

        # When she texts beta's number
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            text(client, twilio, "About my tea", to=BETA_NUMBER)

        # Then only beta's queue has it, and only beta answers
        assert list(Case.objects.values_list("shop", flat=True)) == [beta.pk]
        assert list(Message.objects.filter(trigger="auto_reply").values_list("shop", flat=True)) == [beta.pk]


def test_a_new_shop_gets_support_settings_and_an_active_auto_reply_rule_with_copy_in_every_language(db):
    shop = merchant_create(name="Gamma", slug="gamma", country="DE", time_zone="Europe/Berlin")

    settings = SupportSettings.objects.get(shop=shop)
    assert (settings.auto_reply_enabled, settings.first_response_hours) == (True, 8)
    rule = CareRule.objects.get(shop=shop, trigger="auto_reply")
    assert (rule.is_active, rule.send_any_hour, rule.message_class) == (True, True, "transactional")
    assert sorted(rule.templates.values_list("channel", "language")) == sorted(
        (channel, language) for channel in ("email", "sms") for language in ("de", "en", "ko", "ru", "zh-hans")
    )

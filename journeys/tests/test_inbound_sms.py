"""Texts customers send, as Twilio posts them: STOP in many languages takes effect at once (the next
SMS is suppressed), START undoes it, HELP gets the shop's contact line, loose words wait for a person."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from journeys.models import ConsentRecord, InboundSms, SmsAccount
from journeys.sms_keywords import keyword_classify, text_normalise
from journeys.tests.conftest import TWILIO_SID, TWILIO_TOKEN
from journeys.tests.twilio_posts import (
    INBOUND_URL,
    PUBLIC,
    drain,
    shipped_message,
    shipped_order,
    twilio_post,
)
from merchant.models import Customer, InboundEvent
from merchant.tests.factories import CustomerFactory, MembershipFactory, MerchantFactory, UserFactory

pytestmark = pytest.mark.django_db
OUR_NUMBER = "+15005550006"
ANNA = "+4915112345678"
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

TWILIO_KEYWORDS = ["STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT"]
LOCAL_KEYWORDS = ["退订", "TD", "T", "拒收", "СТОП", "ОТПИСАТЬСЯ", "수신거부", "ABMELDEN", "STOPP"]
SPELLINGS = [" stop ", "Stop.", "stop!", "ＳＴＯＰ", "Стоп", "td", "«退订»"]


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def account(care_shop):
    """The shop's own Twilio account: the same account the fake and the settings use."""
    return SmsAccount.objects.create(
        shop=care_shop, label="Main", account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number=OUR_NUMBER
    )


def queries_of(client, url: str) -> int:
    connection.queries_log.clear()  # a full log (9000 entries) would make every count 0
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def text(client, twilio, body, *, from_=ANNA, to=OUR_NUMBER, **extra):
    """A customer texts `body`; Twilio posts it to our inbound webhook. Returns the TwiML answer."""
    response = twilio_post(client, twilio.inbound_request(INBOUND_URL, from_=from_, to=to, body=body, **extra))
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return response.content.decode()


class TestKeywords:
    @pytest.mark.parametrize("body", TWILIO_KEYWORDS + LOCAL_KEYWORDS + SPELLINGS)
    def test_a_stop_keyword_opts_out_at_once_and_the_next_sms_is_suppressed(
        self, client, care_shop, account, twilio, noon, body
    ):
        order = shipped_order(care_shop)  # its "shipped" SMS is due now, not sent yet
        answer = text(client, twilio, body)
        customer = Customer.objects.get(pk=order.customer_id)
        assert customer.sms_opted_out_at is not None
        record = ConsentRecord.objects.get(customer=customer)
        assert (record.action, record.channel, record.source, record.wording) == (
            "opted_out",
            "sms",
            "sms_keyword",
            body,
        )
        sms = InboundSms.objects.get()
        assert (sms.kind, sms.customer, sms.resolution) == ("opt_out", customer, "automatic")

        assert drain() == {"suppressed": 1}
        message = shipped_message(order)
        assert (message.status, message.reason) == ("suppressed", "opted_out")
        assert twilio.count == 0

        if text_normalise(body).upper() in TWILIO_KEYWORDS:
            assert answer == EMPTY, "Twilio confirmed it already on a long code"
        else:
            assert "<Message>" in answer, "Twilio does not know this word: we confirm once"
            assert "Alpha Shoes" in answer

    def test_a_local_keyword_is_confirmed_in_its_own_language(self, client, care_shop, account, twilio):
        CustomerFactory(shop=care_shop, phone=ANNA, language="en")
        assert "您已退订" in text(client, twilio, "退订")
        assert "вы отписались" in text(client, twilio, "СТОП")

    def test_stop_to_a_short_code_is_confirmed_by_us(self, client, care_shop, twilio):
        SmsAccount.objects.create(
            shop=care_shop, label="Short", account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number="55501"
        )
        CustomerFactory(shop=care_shop, phone=ANNA)
        answer = text(client, twilio, "STOP", to="55501")
        assert "you are unsubscribed" in answer

    def test_advanced_opt_out_classification_wins_and_is_not_answered_twice(self, client, care_shop, account, twilio):
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        assert text(client, twilio, "ARRETE", OptOutType="STOP") == EMPTY
        customer.refresh_from_db()
        assert customer.sms_opted_out_at is not None

    def test_start_opts_back_in_after_stop(self, client, care_shop, account, twilio):
        customer = CustomerFactory(shop=care_shop, phone=ANNA, email="")
        text(client, twilio, "STOP")
        assert text(client, twilio, "Start") == EMPTY
        customer.refresh_from_db()
        assert customer.sms_opted_out_at is None
        assert list(customer.consent_records.values_list("action", "wording")) == [
            ("opted_out", "STOP"),
            ("opted_in", "Start"),
        ]

    def test_help_answers_with_the_shops_contact_line(self, client, care_shop, account, twilio):
        care_shop.contact_phone, care_shop.contact_email = "+12125550199", "help@alpha.example"
        care_shop.save()
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        answer = text(client, twilio, "help")
        assert answer.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Alpha Shoes: ')
        assert "+1 212-555-0199" in answer
        assert "help@alpha.example" in answer
        assert "Reply STOP to unsubscribe" in answer
        assert InboundSms.objects.get().kind == "help"
        customer.refresh_from_db()
        assert customer.sms_opted_out_at is None
        assert "Hilfe" in text(
            client,
            twilio,
            "INFO",
            from_=str(CustomerFactory(shop=care_shop, phone="+4915112340000", language="de").phone),
        )

    def test_a_text_from_an_unknown_number_is_kept_for_the_shop(self, client, care_shop, account, twilio):
        assert text(client, twilio, "STOP", from_="+14155550100") == EMPTY
        sms = InboundSms.objects.get()
        assert (sms.shop, sms.customer, sms.kind, sms.from_number) == (care_shop, None, "opt_out", "+14155550100")
        assert not ConsentRecord.objects.exists()

    def test_a_number_shared_by_customers_of_several_shops_of_one_account_is_opted_out_everywhere(
        self, client, care_shop, account, twilio
    ):
        sister = MerchantFactory(name="Alpha Outlet")
        SmsAccount.objects.create(
            shop=sister, label="Main", account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number=OUR_NUMBER
        )
        stranger_shop = MerchantFactory(name="Gamma")  # another account entirely
        SmsAccount.objects.create(
            shop=stranger_shop, label="Own", account_sid="AC" + "9" * 32, auth_token="x", from_number="+15005550009"
        )
        here, there, elsewhere = (CustomerFactory(shop=shop, phone=ANNA) for shop in (care_shop, sister, stranger_shop))
        text(client, twilio, "STOP")
        opted_out = set(Customer.objects.filter(sms_opted_out_at__isnull=False))
        assert opted_out == {here, there}
        assert InboundEvent.objects.filter(source="twilio").count() == 2, "one stored delivery per shop"
        assert elsewhere not in opted_out

    def test_the_same_text_delivered_twice_is_acted_on_once(self, client, care_shop, account, twilio):
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        request = twilio.inbound_request(INBOUND_URL, from_=ANNA, to=OUR_NUMBER, body="退订")
        first, second = twilio_post(client, request), twilio_post(client, request)
        assert first.content == second.content, "the repeat gets the same answer"
        assert customer.consent_records.count() == 1
        assert InboundSms.objects.count() == 1
        assert list(InboundEvent.objects.values_list("status", flat=True).order_by("id")) == ["processed", "duplicate"]

    def test_a_forged_stop_changes_nothing(self, client, care_shop, account, twilio):
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        request = twilio.inbound_request(INBOUND_URL, from_=ANNA, to=OUR_NUMBER, body="STOP", auth_token="guessed")
        assert twilio_post(client, request).status_code == 403
        assert twilio_post(client, request, signature="").status_code == 403
        customer.refresh_from_db()
        assert customer.sms_opted_out_at is None
        assert not InboundEvent.objects.exists()
        assert not InboundSms.objects.exists()

    def test_the_settings_account_signs_for_shops_without_an_account(self, client, care_shop, twilio):
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        text(client, twilio, "STOP")
        customer.refresh_from_db()
        assert customer.sms_opted_out_at is not None


class TestLooseWords:
    @pytest.mark.parametrize(
        "body", ["stop texting me", "Wrong number", "unsubscribe me please", "不要再发了", "Хватит!", "bitte abmelden"]
    )
    def test_a_loosely_worded_opt_out_is_flagged_for_a_person_not_acted_on(
        self, client, care_shop, account, twilio, body
    ):
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        assert text(client, twilio, body) == EMPTY
        sms = InboundSms.objects.get()
        assert (sms.kind, sms.handled_at, sms.body) == ("possible_opt_out", None, body)
        customer.refresh_from_db()
        assert customer.sms_opted_out_at is None
        assert not ConsentRecord.objects.exists()

    @pytest.mark.parametrize("body", ["Thanks, got it!", "When will it arrive?", "nonstop fan of your socks"])
    def test_other_replies_are_kept_as_replies(self, body):
        assert keyword_classify(body).kind == "reply"

    def test_staff_see_waiting_texts_and_opt_the_customer_out(self, client, care_shop, account, twilio, agent):
        customer = CustomerFactory(shop=care_shop, phone=ANNA, first_name="Anna", last_name="Berg")
        text(client, twilio, "wrong number")
        text(client, twilio, "please stop texting me")
        client.force_login(agent)
        url = reverse("admin:journeys_inboundsms_changelist")
        page = client.get(url, {"state": "waiting"}).content.decode()
        assert "wrong number" in page
        assert "please stop texting me" in page
        assert "Waiting for a person" in page
        first, second = InboundSms.objects.order_by("id")
        response = client.post(url, {"action": "opt_out", "_selected_action": [first.pk]}, follow=True)
        assert "1 customer opted out." in [str(m) for m in get_messages(response.wsgi_request)]
        customer.refresh_from_db()
        assert customer.sms_opted_out_at is not None
        record = ConsentRecord.objects.get()
        assert (record.source, record.wording, record.actor) == ("sms_reply", "wrong number", "agent@alpha.example")
        first.refresh_from_db()
        assert (first.resolution, first.handled_by) == ("opted_out", agent)

        client.post(url, {"action": "not_an_opt_out", "_selected_action": [second.pk]})
        second.refresh_from_db()
        assert (second.resolution, second.handled_by) == ("not_opt_out", agent)
        assert client.get(url, {"state": "waiting"}).context["cl"].result_count == 0

    def test_a_handled_text_cannot_be_decided_again(self, client, care_shop, account, twilio, agent):
        CustomerFactory(shop=care_shop, phone=ANNA)
        text(client, twilio, "wrong number")
        sms = InboundSms.objects.get()
        client.force_login(agent)
        url = reverse("admin:journeys_inboundsms_changelist")
        client.post(url, {"action": "not_an_opt_out", "_selected_action": [sms.pk]})
        response = client.post(url, {"action": "opt_out", "_selected_action": [sms.pk]}, follow=True)
        assert any("Refused" in str(m) for m in get_messages(response.wsgi_request))
        assert not ConsentRecord.objects.exists()

    def test_texts_of_another_shop_are_not_listed_and_answer_404(self, client, care_shop, account, twilio):
        CustomerFactory(shop=care_shop, phone=ANNA)
        text(client, twilio, "wrong number")
        sms = InboundSms.objects.get()
        outsider = UserFactory(username="agent@beta.example")
        MembershipFactory(user=outsider, shop=MerchantFactory(name="Beta"), role="agent")
        client.force_login(outsider)
        assert client.get(reverse("admin:journeys_inboundsms_changelist")).context["cl"].result_count == 0
        assert client.get(reverse("admin:journeys_inboundsms_change", args=[sms.pk])).status_code == 404
        client.post(
            reverse("admin:journeys_inboundsms_changelist"), {"action": "opt_out", "_selected_action": [sms.pk]}
        )
        assert not ConsentRecord.objects.exists()

    def test_the_list_costs_the_same_queries_for_many_texts(
        self, client, care_shop, account, twilio, owner, django_assert_num_queries
    ):
        for number in range(2):
            CustomerFactory(shop=care_shop, phone=f"+49151123400{number:02d}")
            text(client, twilio, "when does it ship?", from_=f"+49151123400{number:02d}")
        client.force_login(owner)
        url = reverse("admin:journeys_inboundsms_changelist")
        client.get(url)
        few = queries_of(client, url)
        for number in range(2, 12):
            CustomerFactory(shop=care_shop, phone=f"+49151123400{number:02d}")
            text(client, twilio, "hello", from_=f"+49151123400{number:02d}")
        connection.queries_log.clear()
        with django_assert_num_queries(few):
            client.get(url)


class TestTimeline:
    def test_replies_and_consent_changes_show_on_the_customers_timeline(
        self, client, care_shop, account, twilio, owner
    ):
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        text(client, twilio, "Thanks, the socks are great!")
        text(client, twilio, "STOP")
        client.force_login(owner)
        response = client.get(reverse("admin:merchant_customer_change", args=[customer.pk]))
        kinds = [entry.kind for entry in response.context["timeline"]]
        assert kinds.count("reply") == 2
        assert kinds.count("consent") == 1
        page = response.content.decode()
        assert "Thanks, the socks are great!" in page
        assert "Opted out · SMS" in page
        assert "sms keyword" in page
        assert reverse("admin:journeys_inboundsms_change", args=[InboundSms.objects.order_by("id").first().pk]) in page

    def test_the_customer_page_queries_do_not_grow_with_texts(
        self, client, care_shop, account, twilio, owner, django_assert_num_queries
    ):
        customer = CustomerFactory(shop=care_shop, phone=ANNA)
        text(client, twilio, "hello")
        client.force_login(owner)
        url = reverse("admin:merchant_customer_change", args=[customer.pk])
        client.get(url)
        few = queries_of(client, url)
        for body in ("STOP", "START", "STOP", "hi", "wrong number"):
            text(client, twilio, body)
        connection.queries_log.clear()
        with django_assert_num_queries(few):
            client.get(url)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", "opt_out"),
        ("  stop  ", "opt_out"),
        ("Stop.", "opt_out"),
        ("ＳＴＯＰ", "opt_out"),
        ("opt out", "opt_out"),
        ("ARRET", "opt_out"),
        ("stop please", "possible_opt_out"),
        ("UNSTOP", "opt_in"),
        ("yes", "opt_in"),
        ("Info?", "help"),
        ("帮助", "help"),
        ("", "reply"),
        ("🙂", "reply"),
    ],
)
def test_keyword_matching_is_on_the_whole_trimmed_text(body, kind):
    assert keyword_classify(body).kind == kind

"""Texts that need a person reach the apps that registered for them (the support queue), through Twilio's real
webhook; keywords never do, and a listener that fails never loses the text."""

import pytest

from journeys import inbound_listeners
from journeys.models import InboundSms, SmsAccount
from journeys.tests.conftest import TWILIO_SID, TWILIO_TOKEN
from journeys.tests.twilio_posts import INBOUND_URL, PUBLIC, twilio_post
from merchant.models import InboundEvent
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
OUR_NUMBER = "+15005550006"
ANNA = "+4915112345678"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def account(care_shop):
    return SmsAccount.objects.create(
        shop=care_shop, label="Main", account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number=OUR_NUMBER
    )


@pytest.fixture
def heard():
    """A listener registered for the test (others, such as the support queue's, stay registered)."""
    calls: list[list[InboundSms]] = []

    def listener(texts):
        calls.append(list(texts))

    inbound_listeners.register(listener)
    yield calls
    inbound_listeners.unregister(listener)


@pytest.fixture
def failing():
    def listener(texts):
        InboundSms.objects.filter(pk=texts[0].pk).update(body="changed by a failing listener")
        raise RuntimeError("the listener's bug")

    inbound_listeners.register(listener)
    yield listener
    inbound_listeners.unregister(listener)


def text(client, twilio, body, *, from_=ANNA):
    response = twilio_post(client, twilio.inbound_request(INBOUND_URL, from_=from_, to=OUR_NUMBER, body=body))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("body", "kind"), [("Where is my parcel?", "reply"), ("wrong number", "possible_opt_out")])
def test_a_text_that_needs_a_person_is_passed_on_once_with_its_stored_rows(
    client, care_shop, account, twilio, heard, body, kind
):
    # Given two customers of the shop share Anna's number
    first = CustomerFactory(shop=care_shop, phone=ANNA)
    second = CustomerFactory(shop=care_shop, phone=ANNA)

    text(client, twilio, body)

    [texts] = heard
    assert [(row.pk is not None, row.customer, row.kind, row.body) for row in texts] == [
        (True, first, kind, body),
        (True, second, kind, body),
    ]


@pytest.mark.parametrize("body", ["STOP", "СТОП", "START", "HELP"])
def test_keywords_are_never_passed_on(client, care_shop, account, twilio, heard, body):
    CustomerFactory(shop=care_shop, phone=ANNA)

    text(client, twilio, body)

    assert heard == []
    assert InboundSms.objects.get().body == body


def test_a_text_from_an_unknown_number_is_passed_on_without_a_customer(client, care_shop, account, twilio, heard):
    text(client, twilio, "hello?", from_="+4917600000000")

    [[row]] = heard
    assert (row.customer, row.from_number) == (None, "+4917600000000")


def test_a_failing_listener_never_loses_the_text_and_the_others_still_hear_it(
    client, care_shop, account, twilio, failing, heard, caplog
):
    CustomerFactory(shop=care_shop, phone=ANNA)

    text(client, twilio, "Where is my parcel?")

    # the failing listener's own change is rolled back, the text and its delivery are kept
    assert InboundSms.objects.get().body == "Where is my parcel?"
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED
    assert len(heard) == 1
    assert "the listener's bug" in caplog.text


def test_registering_the_same_listener_twice_calls_it_once(client, care_shop, account, twilio, heard):
    inbound_listeners.register(inbound_listeners.listeners_all()[-1])

    text(client, twilio, "Where is my parcel?")

    assert len(heard) == 1

"""TwilioSmsProvider over real HTTP against the local fake Twilio (no mocks, no database)."""

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest

from journeys.providers.base import Envelope, Outcome, RateLimit
from journeys.providers.twilio import TwilioSmsProvider, twilio_provider_from_settings
from journeys.testing.fake_twilio import FakeTwilio, error_body

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "tok-s3cr3t-never-shown-0123456789"
FROM = "+15005550006"
TO = "+14155552671"


@pytest.fixture
def fake():
    with FakeTwilio(auth=(ACCOUNT_SID, AUTH_TOKEN)) as server:
        yield server


@pytest.fixture
def make_provider(fake):
    providers = []

    def make(**kwargs):
        options = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM, "base_url": fake.base_url}
        options.update(kwargs)
        provider = TwilioSmsProvider(**options)
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.close()


@pytest.fixture
def provider(make_provider):
    return make_provider()


def envelope(message_id=1, to=TO, body="Your order #1001 has shipped"):
    return Envelope(message_id=message_id, channel="sms", to=to, body=body)


def assert_no_secret(result):
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert AUTH_TOKEN not in result.error
    assert credentials not in result.error


def test_send_is_accepted_with_form_fields_and_basic_auth(fake, provider):
    result = provider.send(envelope(body="Grüße 👍 & more"))

    assert result.outcome == Outcome.SENT
    assert result.provider_message_id.startswith("SM")
    assert len(result.provider_message_id) == 34
    [message] = fake.messages
    assert message["sid"] == result.provider_message_id
    assert message["account_sid"] == ACCOUNT_SID  # the fake checked Basic auth for this account
    assert message["to"] == TO
    assert message["from"] == FROM
    assert message["messaging_service_sid"] is None
    assert message["body"] == "Grüße 👍 & more"
    assert message["status_callback"] is None
    assert fake.bodies_by_to() == {TO: ["Grüße 👍 & more"]}


def test_messaging_service_sid_is_sent_instead_of_from(fake, make_provider):
    provider = make_provider(from_number="", messaging_service_sid="MG" + "ab" * 16)

    assert provider.send(envelope()).outcome == Outcome.SENT
    [message] = fake.messages
    assert message["from"] is None
    assert message["messaging_service_sid"] == "MG" + "ab" * 16


def test_status_callback_carries_message_id(fake, make_provider):
    provider = make_provider(status_callback_url="https://shop.example/hooks/twilio/status?shop=alpha")

    assert provider.send(envelope(message_id=4242)).outcome == Outcome.SENT
    assert fake.messages[0]["status_callback"] == "https://shop.example/hooks/twilio/status?shop=alpha&message_id=4242"


def test_429_with_retry_after_is_retried_after_that_long(fake, provider):
    fake.fail_next.append((429, error_body(20429, "Too Many Requests", 429) | {"retry_after": 7}))

    result = provider.send(envelope())

    assert result.outcome == Outcome.RETRY
    assert result.retry_after == 7.0
    assert result.error_code == "20429"
    assert result.error == "Too Many Requests"
    assert fake.count == 0
    assert provider.send(envelope()).outcome == Outcome.SENT  # the script is used up


def test_429_without_retry_after(fake, provider):
    fake.fail_next.append((429, error_body(20429, "Too Many Requests", 429)))

    result = provider.send(envelope())

    assert result.outcome == Outcome.RETRY
    assert result.retry_after is None


def test_500_is_retried(fake, provider):
    fake.fail_next.append((500, {"code": 20500, "message": "Internal Server Error", "status": 500}))

    result = provider.send(envelope())

    assert result.outcome == Outcome.RETRY
    assert result.error_code == "20500"


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (21211, Outcome.INVALID_ADDRESS),
        (21614, Outcome.INVALID_ADDRESS),
        (21635, Outcome.INVALID_ADDRESS),
        (21610, Outcome.OPTED_OUT),
        (21408, Outcome.PERMANENT),
        (21612, Outcome.PERMANENT),
    ],
)
def test_scripted_400_codes(fake, provider, code, outcome):
    fake.fail_next.append((400, error_body(code, f"Twilio says {code}", 400)))

    result = provider.send(envelope())

    assert result.outcome == outcome
    assert result.error_code == str(code)
    assert result.error == f"Twilio says {code}"


def test_malformed_to_is_an_invalid_address(fake, provider):
    result = provider.send(envelope(to="0044 20 7946 0000"))

    assert result.outcome == Outcome.INVALID_ADDRESS
    assert result.error_code == "21211"
    assert fake.count == 0


def test_missing_body_is_permanent(provider):
    result = provider.send(envelope(body=""))

    assert result.outcome == Outcome.PERMANENT
    assert result.error_code == "21602"


def test_wrong_credentials_are_permanent(fake, make_provider):
    provider = make_provider(auth_token="wrong-token")

    result = provider.send(envelope())

    assert result.outcome == Outcome.PERMANENT
    assert result.error_code == "20003"
    assert "wrong-token" not in result.error
    assert fake.count == 0


def test_unknown_path_is_permanent(fake, make_provider):
    provider = make_provider(base_url=fake.base_url + "/nowhere")

    result = provider.send(envelope())

    assert result.outcome == Outcome.PERMANENT
    assert result.error_code == "20404"


def test_connection_refused_is_retried(fake, provider):
    assert provider.send(envelope()).outcome == Outcome.SENT  # leaves a keep-alive connection in the pool
    fake.stop()

    result = provider.send(envelope())

    assert result.outcome == Outcome.RETRY
    assert result.error
    assert_no_secret(result)


def test_an_idle_connection_the_server_closed_is_replaced_before_sending(fake, provider):
    assert provider.send(envelope(message_id=1)).outcome == Outcome.SENT
    port = fake.port
    fake.stop()  # closes the kept-alive connection from the server's side
    with FakeTwilio(auth=(ACCOUNT_SID, AUTH_TOKEN), port=port) as again:
        result = provider.send(envelope(message_id=2))

        assert result.outcome == Outcome.SENT  # not a retry: the POST went out once, on a new connection
        assert again.count == 1


def test_timeout_is_retried(fake, make_provider):
    provider = make_provider(timeout=0.2)
    fake.latency = 1

    result = provider.send(envelope())

    assert result.outcome == Outcome.RETRY
    assert "timed out" in result.error
    assert_no_secret(result)


def test_fifty_concurrent_sends_land_with_distinct_sids(fake, make_provider):
    provider = make_provider(concurrency=8)
    fake.latency = 0.02
    envelopes = [envelope(message_id=i, to=f"+1415555{i:04d}", body=f"hello {i}") for i in range(50)]

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(provider.send, envelopes))

    assert {r.outcome for r in results} == {Outcome.SENT}
    sids = {r.provider_message_id for r in results}
    assert len(sids) == 50
    assert {m["sid"] for m in fake.messages} == sids
    assert fake.bodies_by_to() == {f"+1415555{i:04d}": [f"hello {i}"] for i in range(50)}


def test_auth_token_never_appears_in_errors(fake, make_provider):
    provider = make_provider()
    # Error texts that quote the request back must still come out scrubbed.
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    fake.fail_next.extend(
        [
            (400, error_body(21211, f"bad To; token {AUTH_TOKEN}", 400)),
            (400, error_body(21610, f"Authorization: Basic {credentials}", 400)),
            (429, error_body(20429, AUTH_TOKEN, 429) | {"retry_after": 1}),
            (503, {"message": f"upstream {AUTH_TOKEN}"}),
            (400, {"unexpected": AUTH_TOKEN}),
        ]
    )
    results = [provider.send(envelope()) for _ in range(5)]
    fake.latency = 1
    results.append(make_provider(timeout=0.2).send(envelope()))
    fake.stop()
    results.append(provider.send(envelope()))

    assert [r.outcome for r in results] == [
        Outcome.INVALID_ADDRESS,
        Outcome.OPTED_OUT,
        Outcome.RETRY,
        Outcome.RETRY,
        Outcome.PERMANENT,
        Outcome.RETRY,
        Outcome.RETRY,
    ]
    for result in results:
        assert result.error
        assert_no_secret(result)
    assert AUTH_TOKEN not in repr(provider)


def test_exactly_one_sender_is_required():
    with pytest.raises(ValueError, match="from_number"):
        TwilioSmsProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    with pytest.raises(ValueError, match="messaging_service_sid"):
        TwilioSmsProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM, messaging_service_sid="MG1")


def test_identity_and_limits():
    provider = TwilioSmsProvider(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM, rate_limit=RateLimit(10), concurrency=4
    )

    assert provider.name == "twilio"
    assert provider.pace_key == f"twilio:{ACCOUNT_SID}:{FROM}"
    assert provider.deduplicates is False
    assert provider.rate_limit == RateLimit(10)
    assert provider.concurrency == 4
    provider.close()


def test_provider_from_settings(settings, fake):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "cd" * 16
    settings.TWILIO_BASE_URL = fake.base_url
    settings.TWILIO_RATE_PER_SECOND = 2.5
    settings.TWILIO_CONCURRENCY = 3

    provider = twilio_provider_from_settings()

    assert provider.pace_key == f"twilio:{ACCOUNT_SID}:MG{'cd' * 16}"
    assert provider.rate_limit == RateLimit(per_second=2.5)
    assert provider.concurrency == 3
    assert provider.send(envelope()).outcome == Outcome.SENT
    provider.close()

"""Shared fixtures of the journeys tests: a shop with its default rules on, and a fake Twilio."""

import pytest
import time_machine
from django.core.cache import cache

from journeys.models import CareRule
from journeys.services.rules import care_rules_default_create
from journeys.testing.fake_twilio import FakeTwilio
from journeys.tests.twilio_posts import NOON_IN_BERLIN
from merchant.services.api_keys import api_key_create

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "fake-auth-token"  # noqa: S105 - a test credential of the fake server


@pytest.fixture
def twilio(settings):
    """A local server speaking Twilio's wire format, with the SMS channel pointed at it."""
    with FakeTwilio(auth=(TWILIO_SID, TWILIO_TOKEN)) as server:
        settings.JOURNEYS_SMS_PROVIDER = "twilio"
        settings.TWILIO_ACCOUNT_SID = TWILIO_SID
        settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
        settings.TWILIO_FROM_NUMBER = "+15005550006"
        settings.TWILIO_BASE_URL = server.base_url
        yield server


@pytest.fixture
def noon():
    """The clock stopped at noon in Berlin on a June Wednesday (10:00 UTC): inside every default send window."""
    with time_machine.travel(NOON_IN_BERLIN, tick=False) as traveller:
        yield traveller


@pytest.fixture
def care_shop(shop):
    """The shop with the default order-care rules, all turned on."""
    care_rules_default_create(shop)
    CareRule.objects.filter(shop=shop).update(is_active=True)
    return shop


@pytest.fixture
def rules(care_shop):
    return {rule.trigger: rule for rule in CareRule.objects.filter(shop=care_shop)}


@pytest.fixture
def api(client, care_shop):
    cache.clear()
    token = api_key_create(shop=care_shop, name="erp")[1]

    class Api:
        def put(self, path, body, **headers):
            return client.put(
                f"/api/v1/{path}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )

        def post(self, path, body):
            return client.post(
                f"/api/v1/{path}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )

        def get(self, path, **params):
            return client.get(f"/api/v1/{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")

    return Api()


@pytest.fixture
def vapid(settings, tmp_path):
    """A VAPID key pair made for the test (as VAPID_PRIVATE_KEY and VAPID_SUBJECT would give it)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from journeys.push.vapid import private_key_text, vapid_keys

    settings.VAR_DIR = tmp_path
    settings.VAPID_PRIVATE_KEY = private_key_text(ec.generate_private_key(ec.SECP256R1()))
    settings.VAPID_PUBLIC_KEY = ""
    settings.VAPID_SUBJECT = "mailto:care@alpha.example"
    return vapid_keys()


@pytest.fixture
def push_service(settings, vapid):
    """A local Web Push service (journeys.testing.fake_push) the push channel sends to for real, over HTTP."""
    from journeys.testing.fake_push import FakePushService

    with FakePushService(application_server_key=vapid.public_key) as service:
        settings.JOURNEYS_PUSH_PROVIDER = "webpush"
        settings.JOURNEYS_PUSH_SERVICE_HOSTS = ["127.0.0.1"]
        yield service

"""A shop's own Twilio account in the admin: the auth token is write-only, every problem names its
field, one active account per shop, other shops' accounts answer 404; and the provider built from it."""

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from journeys.models import SmsAccount
from journeys.providers.base import Envelope, Outcome, RateLimit
from journeys.providers.twilio import twilio_provider_for_account
from journeys.services.sms_accounts import sms_account_save
from journeys.testing.fake_twilio import FakeTwilio
from merchant.tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db
SID = "AC" + "ab" * 16
TOKEN = "tok_6f1c2e9b-never-shown-again"  # noqa: S105 - a test credential
SERVICE = "MG" + "cd" * 16


def admin_url(action: str = "changelist", *args) -> str:
    return reverse(f"admin:journeys_smsaccount_{action}", args=args)


def form_data(shop, **changes) -> dict:
    data = {
        "shop": shop.pk,
        "label": "Twilio US",
        "is_active": "on",
        "account_sid": SID,
        "new_auth_token": TOKEN,
        "from_number": "+15005550006",
        "messaging_service_sid": "",
        "rate_per_second": "1",
        "daily_cap": "",
        "base_url": "https://api.twilio.com",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def account(shop):
    return sms_account_save(
        account=SmsAccount(shop=shop, label="Twilio US", account_sid=SID, from_number="+15005550006"),
        auth_token=TOKEN,
    )


class TestWriteOnlyToken:
    def test_an_owner_adds_an_account_and_the_token_is_saved_but_never_shown(self, client, owner, shop, caplog):
        client.force_login(owner)
        with caplog.at_level(logging.DEBUG):
            response = client.post(admin_url("add"), form_data(shop))
        assert response.status_code == 302, response.content.decode()[:2000]
        reported = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
        assert reported["new_auth_token"] != TOKEN, "an error report would show stars"
        account = SmsAccount.objects.get()
        assert (account.shop, account.auth_token, account.rate_per_second) == (shop, TOKEN, 1.0)

        change_page = client.get(admin_url("change", account.pk)).content.decode()
        list_page = client.get(admin_url()).content.decode()
        history_page = client.get(admin_url("history", account.pk)).content.decode()
        for page in (change_page, list_page, history_page):
            assert TOKEN not in page
        assert 'type="password" name="new_auth_token"' in change_page
        assert 'name="new_auth_token" autocomplete="new-password"' in change_page
        assert "saved (hidden)" in change_page
        assert TOKEN not in caplog.text
        assert all(TOKEN not in entry.change_message for entry in LogEntry.objects.all())
        assert TOKEN not in repr(account)
        assert TOKEN not in str(account)

    def test_leaving_the_token_empty_keeps_the_saved_one(self, client, owner, shop, account):
        client.force_login(owner)
        response = client.post(admin_url("change", account.pk), form_data(shop, new_auth_token="", label="Main"))
        assert response.status_code == 302
        account.refresh_from_db()
        assert (account.label, account.auth_token) == ("Main", TOKEN)

    def test_typing_a_new_token_replaces_it(self, client, owner, shop, account):
        client.force_login(owner)
        client.post(admin_url("change", account.pk), form_data(shop, new_auth_token="  rotated-token  "))
        account.refresh_from_db()
        assert account.auth_token == "rotated-token"

    @pytest.mark.parametrize(
        ("field", "value"), [("base_url", "https://collector.example"), ("account_sid", "AC" + "ef" * 16)]
    )
    def test_sending_the_saved_token_elsewhere_needs_it_typed_again(self, client, owner, shop, account, field, value):
        client.force_login(owner)
        response = client.post(admin_url("change", account.pk), form_data(shop, new_auth_token="", **{field: value}))
        assert response.status_code == 200
        assert "Enter the auth token again when you change this." in response.context["adminform"].form.errors[field]
        account.refresh_from_db()
        assert getattr(account, field) != value


class TestValidation:
    @pytest.mark.parametrize(
        ("changes", "field", "words"),
        [
            ({"messaging_service_sid": SERVICE}, "messaging_service_sid", "not both"),
            ({"from_number": ""}, "from_number", "Give a sender number or a messaging service SID."),
            ({"new_auth_token": ""}, "new_auth_token", "Enter the account's auth token."),
            ({"account_sid": "AC123"}, "account_sid", "AC followed by 32 hex digits"),
            ({"from_number": "555-0100"}, "from_number", "E.164"),
            ({"rate_per_second": "-1"}, "rate_per_second", "greater than or equal to 0"),
            ({"daily_cap": "0"}, "daily_cap", "A cap of 0 would stop every message"),
            ({"base_url": "ftp://api.twilio.com"}, "base_url", "valid URL"),
        ],
    )
    def test_a_problem_names_its_field_and_nothing_is_saved(self, client, owner, shop, changes, field, words):
        client.force_login(owner)
        response = client.post(admin_url("add"), form_data(shop, **changes))
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert any(words in message for message in errors[field]), errors
        assert not SmsAccount.objects.exists()

    def test_a_shop_has_one_active_account(self, client, owner, shop, account):
        client.force_login(owner)
        response = client.post(admin_url("add"), form_data(shop, label="Second"))
        assert "turn that one off first" in response.context["adminform"].form.errors["is_active"][0]
        response = client.post(admin_url("add"), form_data(shop, label="Second", is_active=None))
        assert response.status_code == 302
        assert list(SmsAccount.objects.values_list("label", "is_active").order_by("id")) == [
            ("Twilio US", True),
            ("Second", False),
        ]

    def test_a_messaging_service_instead_of_a_number(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(admin_url("add"), form_data(shop, from_number="", messaging_service_sid=SERVICE))
        assert response.status_code == 302
        assert SmsAccount.objects.get().sender == SERVICE


class TestTenancy:
    def test_another_shops_account_answers_404_and_is_not_listed(self, client, owner, shop, other_shop):
        theirs = sms_account_save(
            account=SmsAccount(shop=other_shop, label="Beta SMS", account_sid=SID, from_number="+15005550007"),
            auth_token="beta-token",
        )
        client.force_login(owner)
        assert client.get(admin_url("change", theirs.pk)).status_code == 404
        assert client.post(admin_url("change", theirs.pk), form_data(other_shop, label="Hijacked")).status_code == 404
        assert "Beta SMS" not in client.get(admin_url()).content.decode()
        theirs.refresh_from_db()
        assert theirs.label == "Beta SMS"

    def test_the_shop_picker_offers_only_own_shops(self, client, owner, shop, other_shop):
        client.force_login(owner)
        response = client.post(admin_url("add"), form_data(other_shop))
        assert "shop" in response.context["adminform"].form.errors
        assert not SmsAccount.objects.exists()

    def test_agents_do_not_see_credentials_at_all(self, client, agent, account):
        client.force_login(agent)
        assert client.get(admin_url()).status_code == 403
        assert client.get(admin_url("change", account.pk)).status_code == 403

    def test_the_list_costs_the_same_queries_for_many_accounts(self, client, superuser, django_assert_num_queries):
        for number in range(2):
            sms_account_save(
                account=SmsAccount(
                    shop=MerchantFactory(), label="A", account_sid=SID, from_number=f"+1500555000{number}"
                ),
                auth_token="t",
            )
        client.force_login(superuser)
        client.get(admin_url())
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            client.get(admin_url())
        few = len(captured)
        for number in range(2, 9):
            sms_account_save(
                account=SmsAccount(
                    shop=MerchantFactory(), label="A", account_sid=SID, from_number=f"+1500555000{number}"
                ),
                auth_token="t",
            )
        connection.queries_log.clear()
        with django_assert_num_queries(few):
            client.get(admin_url())


class TestProviderOfAnAccount:
    def test_it_sends_with_the_accounts_credentials_and_our_status_callback(self, settings, account):
        settings.PUBLIC_BASE_URL = "https://care.example.com"
        settings.TWILIO_STATUS_CALLBACK_URL = ""
        with FakeTwilio(auth=(SID, TOKEN)) as fake:
            account.base_url = fake.base_url
            provider = twilio_provider_for_account(account)
            result = provider.send(Envelope(message_id=42, channel="sms", to="+14155552671", body="Hi"))
            provider.close()
        assert result.outcome == Outcome.SENT
        sent = fake.messages[0]
        assert (sent["account_sid"], sent["from"]) == (SID, "+15005550006")
        assert sent["status_callback"] == "https://care.example.com/webhooks/twilio/status?message_id=42"
        assert provider.pace_key == f"twilio:{SID}:+15005550006"
        assert TOKEN not in repr(provider)

    def test_a_wrong_token_is_refused_by_twilio(self, account):
        with FakeTwilio(auth=(SID, "the-real-one")) as fake:
            account.base_url = fake.base_url
            provider = twilio_provider_for_account(account)
            result = provider.send(Envelope(message_id=1, channel="sms", to="+14155552671", body="Hi"))
            provider.close()
        assert (result.outcome, result.error_code) == (Outcome.PERMANENT, "20003")
        assert TOKEN not in result.error

    @pytest.mark.parametrize(
        ("rate", "daily_cap", "limit"),
        [
            (1.0, None, RateLimit(per_second=1.0)),
            (2.5, 2000, RateLimit(2.5)),
            (0, None, None),
            (None, None, None),
        ],
    )
    def test_rate_and_daily_cap_come_from_the_account(self, account, rate, daily_cap, limit):
        account.rate_per_second, account.daily_cap = rate, daily_cap
        provider = twilio_provider_for_account(account)
        assert (provider.rate_limit, provider.daily_cap) == (limit, daily_cap)
        provider.close()

    def test_errors_twilio_documents_come_back_classified(self, account):
        with FakeTwilio(auth=(SID, TOKEN)) as fake:
            account.base_url = fake.base_url
            provider = twilio_provider_for_account(account)
            fake.fail_with(21211, to="+14155550001")
            fake.fail_with(21610, to="+14155550004")
            fake.fail_with(429, retry_after=7)
            throttled = provider.send(Envelope(message_id=1, channel="sms", to="+14155552671", body="Hi"))
            invalid = provider.send(Envelope(message_id=2, channel="sms", to="+14155550001", body="Hi"))
            stopped = provider.send(Envelope(message_id=3, channel="sms", to="+14155550004", body="Hi"))
            provider.close()
        assert (throttled.outcome, throttled.error_code, throttled.retry_after) == (Outcome.RETRY, "20429", 7.0)
        assert (invalid.outcome, invalid.error_code) == (Outcome.INVALID_ADDRESS, "21211")
        assert (stopped.outcome, stopped.error_code) == (Outcome.OPTED_OUT, "21610")

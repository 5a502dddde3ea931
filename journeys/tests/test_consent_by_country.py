"""Which messages are marketing, per country: a review request is advertising in Germany (BGH VI ZR
225/17) and needs consent there, not in the US; every shop starts with these defaults and its owner
edits them in the admin, seeing only their own shops."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journeys.consent_policy import COUNTRY_DEFAULTS, country_message_classes_default_create
from journeys.models import ContactBudget, CountryMessageClass, Message
from journeys.services.planning import message_build, messages_insert
from journeys.tests.factories import CareRuleFactory
from journeys.triggers import Kind, TriggerSpec, trigger_register, trigger_unregister
from merchant.services.shops import merchant_create
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
CONSENT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def review_request():
    """The trigger as the reviews app registers it (journeys never imports reviews)."""
    spec = trigger_register(
        TriggerSpec(
            name="review_request",
            label="Review request",
            description="Ask for a review after delivery.",
            kind=Kind.EXTERNAL,
            anchor_label="delivered",
        )
    )
    yield spec
    trigger_unregister("review_request")


@pytest.fixture
def review_rule(shop, review_request):
    country_message_classes_default_create(shop)
    return CareRuleFactory(
        shop=shop,
        name="Ask for a review",
        trigger="review_request",
        channel="email",
        fallback_channel="",
        is_active=True,
    )


def plan_review_request(rule, spec, customer) -> Message:
    messages_insert(
        [message_build(rule=rule, spec=spec, shop=rule.shop, customer=customer, order=None, anchor_at=timezone.now())]
    )
    return Message.objects.get(customer=customer)


class TestPlanning:
    def test_a_review_request_to_a_german_customer_without_consent_is_suppressed_as_marketing(
        self, review_rule, review_request
    ):
        customer = CustomerFactory(shop=review_rule.shop, country="DE", time_zone="Europe/Berlin")
        message = plan_review_request(review_rule, review_request, customer)
        assert (message.message_class, message.status, message.reason) == ("marketing", "suppressed", "no_consent")
        assert "Marketing in Germany: needs consent." in message.explanation
        assert message.explanation.endswith("Not sent: no email marketing consent.")

    def test_a_german_customer_who_consented_gets_it_as_marketing(self, review_rule, review_request):
        customer = CustomerFactory(
            shop=review_rule.shop, country="DE", time_zone="Europe/Berlin", email_marketing_consent_at=CONSENT
        )
        message = plan_review_request(review_rule, review_request, customer)
        assert (message.message_class, message.status) == ("marketing", "scheduled")

    def test_a_review_request_to_a_us_customer_stays_transactional(self, review_rule, review_request):
        customer = CustomerFactory(shop=review_rule.shop, country="US")
        message = plan_review_request(review_rule, review_request, customer)
        assert (message.message_class, message.status) == ("transactional", "scheduled")
        assert "Marketing" not in message.explanation

    def test_a_rule_marked_marketing_is_marketing_in_every_country(self, review_rule, review_request):
        review_rule.message_class = "marketing"
        review_rule.save()
        customer = CustomerFactory(shop=review_rule.shop, country="US")
        assert plan_review_request(review_rule, review_request, customer).reason == "no_consent"

    def test_an_owner_who_removes_the_german_default_gets_transactional_review_requests(
        self, review_rule, review_request
    ):
        CountryMessageClass.objects.filter(shop=review_rule.shop, country="DE").update(message_class="transactional")
        customer = CustomerFactory(shop=review_rule.shop, country="DE", time_zone="Europe/Berlin")
        assert plan_review_request(review_rule, review_request, customer).message_class == "transactional"


def test_a_new_shop_starts_with_the_shipped_defaults():
    shop = merchant_create(name="Gamma", slug="gamma", country="DE", time_zone="Europe/Berlin", currency="EUR")
    rows = set(CountryMessageClass.objects.filter(shop=shop).values_list("country", "trigger", "message_class"))
    assert rows == {(country, trigger, "marketing") for country, trigger in COUNTRY_DEFAULTS}


def admin_url(model: str, action: str = "changelist", *args) -> str:
    return reverse(f"admin:journeys_{model}_{action}", args=args)


class TestAdmin:
    def test_an_owner_sees_only_their_shops_rows_and_another_shops_row_is_not_found(
        self, client, owner, shop, other_shop
    ):
        country_message_classes_default_create(shop)
        theirs = country_message_classes_default_create(other_shop)[0]
        client.force_login(owner)
        listing = client.get(admin_url("countrymessageclass"))
        assert listing.context["cl"].result_count == len(COUNTRY_DEFAULTS)
        assert {row.shop_id for row in listing.context["cl"].result_list} == {shop.pk}
        assert client.get(admin_url("countrymessageclass", "change", theirs.pk)).status_code == 404
        assert client.post(admin_url("countrymessageclass", "delete", theirs.pk), {"post": "yes"}).status_code == 404
        assert CountryMessageClass.objects.filter(pk=theirs.pk).exists()

    def test_the_list_costs_the_same_queries_for_the_defaults_or_ten_rows_more(
        self, client, owner, shop, django_assert_num_queries
    ):
        country_message_classes_default_create(shop)
        client.force_login(owner)
        few = count_queries(client, admin_url("countrymessageclass"))
        for country in ("AT", "CH", "FR", "IT", "ES", "PL", "NL", "BE", "DK", "SE"):
            CountryMessageClass.objects.create(shop=shop, country=country, trigger="review_request")
        with django_assert_num_queries(few):
            assert client.get(admin_url("countrymessageclass")).context["cl"].result_count == len(COUNTRY_DEFAULTS) + 10

    def test_an_owner_makes_review_requests_marketing_in_austria(self, client, owner, shop, review_request):
        client.force_login(owner)
        response = client.post(
            admin_url("countrymessageclass", "add"),
            {
                "shop": shop.pk,
                "country": "AT",
                "trigger": "review_request",
                "message_class": "marketing",
                "note": "UWG",
            },
        )
        assert response.status_code == 302, response.content.decode()[:1000]
        assert CountryMessageClass.objects.filter(shop=shop, country="AT", trigger="review_request").exists()

    def test_the_same_country_and_trigger_twice_is_refused_naming_the_problem(self, client, owner, shop):
        country_message_classes_default_create(shop)
        client.force_login(owner)
        response = client.post(
            admin_url("countrymessageclass", "add"),
            {"shop": shop.pk, "country": "DE", "trigger": "review_request", "message_class": "marketing"},
        )
        assert response.status_code == 200
        assert "already" in str(response.context["adminform"].form.errors)
        assert CountryMessageClass.objects.filter(shop=shop).count() == len(COUNTRY_DEFAULTS)

    def test_an_agent_may_look_but_not_change(self, client, agent, shop):
        row = country_message_classes_default_create(shop)[0]
        client.force_login(agent)
        assert client.get(admin_url("countrymessageclass", "change", row.pk)).status_code == 200
        client.post(
            admin_url("countrymessageclass", "change", row.pk),
            {"country": "DE", "trigger": row.trigger, "message_class": "transactional"},
        )
        row.refresh_from_db()
        assert row.message_class == "marketing"

    def test_an_owner_sets_the_contact_budget_and_a_30_day_budget_below_the_daily_one_names_the_field(
        self, client, owner, shop
    ):
        client.force_login(owner)
        bad = client.post(admin_url("contactbudget", "add"), {"shop": shop.pk, "per_day": "3", "per_30_days": "2"})
        assert bad.status_code == 200
        assert "per_30_days" in bad.context["adminform"].form.errors
        assert not ContactBudget.objects.exists()
        good = client.post(admin_url("contactbudget", "add"), {"shop": shop.pk, "per_day": "2", "per_30_days": "6"})
        assert good.status_code == 302
        assert ContactBudget.objects.get(shop=shop).per_day == 2

    def test_another_shops_contact_budget_is_not_found(self, client, owner, other_shop):
        budget = ContactBudget.objects.create(shop=other_shop)
        client.force_login(owner)
        assert client.get(admin_url("contactbudget", "change", budget.pk)).status_code == 404
        assert client.get(admin_url("contactbudget")).context["cl"].result_count == 0


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)

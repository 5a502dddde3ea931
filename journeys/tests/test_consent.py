"""The consent ledger: the customer's state and the evidence row change together."""

import datetime as dt

import pytest

from journeys.models import ConsentRecord
from journeys.services.consent import consent_record
from journeys.services.planning import channel_problem
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
Action = ConsentRecord.Action
AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def test_sms_stop_opts_out_of_every_sms_and_ends_marketing_consent(shop):
    customer = CustomerFactory(shop=shop, phone="+14155550100", sms_marketing_consent_at=AT)
    record = consent_record(
        customer=customer, channel="sms", action=Action.OPTED_OUT, source="sms_keyword", wording="STOP", at=AT
    )
    customer.refresh_from_db()
    assert (customer.sms_opted_out_at, customer.sms_marketing_consent_at) == (AT, None)
    assert (record.shop, record.wording, record.action) == (shop, "STOP", "opted_out")
    assert channel_problem(channel="sms", customer=customer, message_class="transactional")[0] == "opted_out"
    assert channel_problem(channel="email", customer=customer, message_class="transactional") is None


def test_opting_in_again_restores_transactional_sms_but_not_marketing(shop):
    customer = CustomerFactory(shop=shop, phone="+14155550100", sms_marketing_consent_at=AT)
    consent_record(customer=customer, channel="sms", action=Action.OPTED_OUT, source="sms_keyword", at=AT)
    consent_record(customer=customer, channel="sms", action=Action.OPTED_IN, source="sms_keyword", wording="START")
    customer.refresh_from_db()
    assert customer.sms_opted_out_at is None
    assert channel_problem(channel="sms", customer=customer, message_class="transactional") is None
    assert channel_problem(channel="sms", customer=customer, message_class="marketing")[0] == "no_consent"


def test_a_repeated_opt_out_keeps_the_first_time_and_both_records(shop):
    customer = CustomerFactory(shop=shop, email="a@example.com")
    consent_record(customer=customer, channel="email", action=Action.OPTED_OUT, source="unsubscribe_page", at=AT)
    consent_record(customer=customer, channel="email", action=Action.OPTED_OUT, source="email_complaint")
    customer.refresh_from_db()
    assert customer.email_opted_out_at == AT
    assert list(customer.consent_records.values_list("source", flat=True)) == ["unsubscribe_page", "email_complaint"]


def test_granting_records_the_source_and_wording(shop):
    customer = CustomerFactory(shop=shop, email="a@example.com")
    consent_record(
        customer=customer, channel="email", action=Action.GRANTED, source="checkout", wording="Send me offers", at=AT
    )
    customer.refresh_from_db()
    assert (customer.email_marketing_consent_at, customer.email_marketing_consent_source) == (AT, "checkout")


def test_an_unknown_channel_or_action_changes_nothing(shop):
    customer = CustomerFactory(shop=shop, email="a@example.com")
    with pytest.raises(ValueError, match="channel"):
        consent_record(customer=customer, channel="fax", action=Action.OPTED_OUT, source="admin")
    with pytest.raises(ValueError, match="action"):
        consent_record(customer=customer, channel="sms", action="maybe", source="admin")
    assert not ConsentRecord.objects.exists()

"""A customer's zone is derived from what we know of them; phone numbers are read as people type them."""

import re

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from phonenumber_field.phonenumber import PhoneNumber

from merchant import services
from merchant.models import Customer
from merchant.phones import phone_from_stored, phone_parse
from merchant.timezones import country_zone, derive_time_zone


def number(text: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(text)


@pytest.mark.parametrize(
    ("phone", "country", "shop_country", "shop_zone", "expected"),
    [
        ("+13125550123", "US", "US", "America/New_York", ("America/Chicago", "phone")),  # area code pins it
        ("+4915123456789", "", "US", "America/New_York", ("Europe/Berlin", "phone")),
        ("+821023456789", "KR", "US", "America/New_York", ("Asia/Seoul", "phone")),
        ("+74951234567", "RU", "US", "America/New_York", ("Europe/Moscow", "phone")),  # Moscow landline
        ("+79161234567", "RU", "RU", "Asia/Novosibirsk", ("Asia/Novosibirsk", "country")),  # shop's own country
        ("+79161234567", "RU", "US", "America/New_York", ("Europe/Moscow", "country")),  # principal zone
        (None, "AU", "US", "America/New_York", ("Australia/Sydney", "country")),
        (None, "CN", "US", "America/New_York", ("Asia/Shanghai", "country")),
        (None, "DE", "US", "America/New_York", ("Europe/Berlin", "country")),
        (None, "", "DE", "Europe/Berlin", ("Europe/Berlin", "shop")),
    ],
)
def test_derive_time_zone(phone, country, shop_country, shop_zone, expected):
    parsed = number(phone) if phone else None
    assert derive_time_zone(phone=parsed, country=country, shop_country=shop_country, shop_zone=shop_zone) == expected


def test_unknown_country_has_no_zone():
    assert country_zone("XX") is None


@pytest.mark.django_db
class TestCustomerZone:
    def test_a_given_zone_is_kept_and_a_derived_one_follows_the_phone(self, shop):
        given = services.customer_create(shop=shop, phone="+4915123456789", time_zone="Asia/Tokyo")
        assert (given.time_zone, given.time_zone_source) == ("Asia/Tokyo", "given")
        derived = services.customer_create(shop=shop, phone="+4915123456789")
        assert (derived.time_zone, derived.time_zone_source) == ("Europe/Berlin", "phone")
        moved = services.customer_update(customer=derived, phone="+821023456789", country="KR")
        assert (moved.time_zone, moved.time_zone_source) == ("Asia/Seoul", "phone")
        kept = services.customer_update(customer=given, phone="+821023456789")
        assert kept.time_zone == "Asia/Tokyo"

    def test_clearing_a_given_zone_derives_one_again(self, shop):
        customer = services.customer_create(shop=shop, phone="+4915123456789", time_zone="Asia/Tokyo")
        customer = services.customer_update(customer=customer, time_zone="")
        assert (customer.time_zone, customer.time_zone_source) == ("Europe/Berlin", "phone")

    def test_a_bad_zone_is_a_field_error_and_nothing_is_saved(self, shop):
        with pytest.raises(ValidationError) as raised:
            services.customer_create(shop=shop, email="a@example.com", time_zone="Europe/Atlantis")
        assert "time_zone" in raised.value.message_dict
        assert not shop.customers.exists()

    def test_tags_are_created_per_shop(self, shop, other_shop):
        customer = services.customer_create(shop=shop, email="a@example.com", tags=["vip", " vip ", "wholesale"])
        services.customer_create(shop=other_shop, email="b@example.com", tags=["vip"])
        assert sorted(customer.tags.values_list("name", flat=True)) == ["vip", "wholesale"]
        assert shop.tags.count() == 2
        assert other_shop.tags.count() == 1


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("(201) 555-0123", "US", "+12015550123"),
        ("+44 (0)20 7946 0018", "", "+442079460018"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("010-2345-6789", "KR", "+821023456789"),
        ("131 2345 6789", "CN", "+8613123456789"),
        ("tel:+1-201-555-0123", "", "+12015550123"),
        ("\uff10\uff19\uff10\u2010\uff11\uff12\uff13\uff14\u2010\uff15\uff16\uff17\uff18", "JP", "+819012345678"),
    ],
)
def test_phone_parse_normalises_to_e164(text, region, e164):
    assert phone_parse(text, region=region).as_e164 == e164


@pytest.mark.parametrize(
    ("text", "region", "message"),
    [
        ("2015550123", "", "no valid country code"),
        ("+1 201 555 01234", "", "too long for a phone number in United States of America (US)"),
        ("555-555-SHIP", "US", "not a number in service"),
        ("(555) 555-5555", "US", "not a number in service"),
        ("N/A", "US", "is not a phone number"),
    ],
)
def test_phone_parse_says_what_is_wrong(text, region, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        phone_parse(text, region=region)


def test_empty_phone_is_none():
    assert phone_parse("  ", region="US") is None


PHONE_NUMBER_FIELDS = (
    "country_code",
    "national_number",
    "extension",
    "italian_leading_zero",
    "number_of_leading_zeros",
    "raw_input",
    "country_code_source",
    "preferred_domestic_carrier_code",
)


def _example_numbers() -> list[str]:
    """phonenumbers' example number of every region and number type, in E.164 (about 1,400)."""
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for number_type in range(12):
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


def test_a_stored_phone_is_read_exactly_as_the_parser_reads_it():
    numbers = [*_example_numbers(), "+390612345678", "+3906123456", "+79001234567", "+12015550123", "+8613800138000"]
    assert len(numbers) > 1000
    for text in numbers:
        fast, parsed = phone_from_stored(text), PhoneNumber.from_string(text)
        assert [getattr(fast, name) for name in PHONE_NUMBER_FIELDS] == [
            getattr(parsed, name) for name in PHONE_NUMBER_FIELDS
        ], text
        assert fast == parsed
        assert fast.as_e164 == text
        assert fast.is_valid() == parsed.is_valid()


@pytest.mark.parametrize("text", ["", None, "+0", "+49 151 23456789", "not a number", "+4915112345678901234"])
def test_a_stored_phone_that_is_not_plain_e164_is_read_as_the_field_reads_it(text):
    fast, by_the_field = phone_from_stored(text), Customer._meta.get_field("phone").from_db_value(text, None, None)
    assert type(fast) is type(by_the_field)
    assert str(fast) == str(by_the_field)

"""Phone numbers typed by people or sent by platforms, parsed into E.164 with a clear reason when not.

The default region is the customer's country (else the shop's): "0151 23456789" means a German
mobile for a German customer. Errors say what is wrong (country code, length, not assigned).
"""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_countries import countries
from phonenumber_field.phonenumber import PhoneNumber, to_python

Reason = phonenumbers.ValidationResult


def _country_name(region: str) -> str:
    return f"{countries.name(region) or region} ({region})" if region else _("no country")


def phone_parse(text: str, *, region: str = "") -> PhoneNumber | None:
    """Parse `text` as a phone number dialled from `region`; None for empty input.

    Raises ValidationError saying why a number cannot be used: no country code and no country to
    assume, too short or too long for its country, or a number that is not in service there.
    """
    text = (text or "").strip()
    if not text:
        return None
    region = (region or "").upper() or None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        messages = {
            phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: _(
                "“%(text)s” has no valid country code. Start with + and the country code, e.g. +49 151 23456789."
            ),
            phonenumbers.NumberParseException.NOT_A_NUMBER: _("“%(text)s” is not a phone number."),
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: _(
                "“%(text)s” is too short after the international prefix."
            ),
            phonenumbers.NumberParseException.TOO_SHORT_NSN: _("“%(text)s” is too short to be a phone number."),
            phonenumbers.NumberParseException.TOO_LONG: _("“%(text)s” is too long to be a phone number."),
        }
        raise ValidationError(messages[error.error_type], code="invalid_phone", params={"text": text}) from None
    number_region = (
        phonenumbers.region_code_for_number(parsed)
        or phonenumbers.region_code_for_country_code(parsed.country_code)
        or region
        or ""
    )
    if number_region == phonenumbers.UNKNOWN_REGION:
        number_region = region or ""
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    length_messages = {
        Reason.TOO_SHORT: _("“%(text)s” is too short for a phone number in %(country)s."),
        Reason.TOO_LONG: _("“%(text)s” is too long for a phone number in %(country)s."),
        Reason.INVALID_LENGTH: _("“%(text)s” has the wrong number of digits for %(country)s."),
        Reason.INVALID_COUNTRY_CODE: _("“%(text)s” has no valid country code."),
    }
    if reason in length_messages:
        raise ValidationError(
            length_messages[reason],
            code="invalid_phone_length",
            params={"text": text, "country": _country_name(number_region)},
        )
    if not phonenumbers.is_valid_number(parsed):
        # Countries with landlines of many lengths accept almost any length; measured against
        # their mobile numbers (the ones we text) a short or long number is named as such.
        mobile_reason = phonenumbers.is_possible_number_for_type_with_reason(
            parsed, phonenumbers.PhoneNumberType.MOBILE
        )
        if mobile_reason in (Reason.TOO_SHORT, Reason.TOO_LONG):
            raise ValidationError(
                _("“%(text)s” is too short for a mobile number in %(country)s.")
                if mobile_reason == Reason.TOO_SHORT
                else _("“%(text)s” is too long for a mobile number in %(country)s."),
                code="invalid_phone_length",
                params={"text": text, "country": _country_name(number_region)},
            )
        raise ValidationError(
            _("“%(text)s” is not a number in service in %(country)s (check the area code and the country)."),
            code="invalid_phone_number",
            params={"text": text, "country": _country_name(number_region)},
        )
    return PhoneNumber.from_string(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def phone_check_usable(text: str, *, region: str = "") -> None:
    """Raise ValidationError for text that cannot be a phone number at all (no country, wrong
    length, not a number). A plausible number that is not in service passes: it is kept as
    received and flagged, never rewritten."""
    try:
        phone_parse(text, region=region)
    except ValidationError as error:
        if error.code != "invalid_phone_number":
            raise


def phone_from_stored(text: str | None) -> PhoneNumber | str | None:
    """A customer's phone as the model field gives it (`PhoneNumber`, or "" / None for none), from the E.164 text
    it is stored as, without the general parser where the text is plain E.164.

    Parsing was more than half the CPU of loading a customer (a dispatcher loads one per message). Stored
    numbers were valid when stored (`phone_parse`), and E.164 country codes are prefix-free, so the
    country code is the one known prefix of the digits; the rest is the national number. Anything
    else (a national number with a leading zero, odd text) goes through the parser as before, and
    the result equals the parser's (merchant/tests/test_timezones_and_phones.py).
    """
    digits = (text or "")[1:]
    if text and text[0] == "+" and digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15:
        for size in (1, 2, 3):
            code, national = int(digits[:size]), digits[size:]
            if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                if national[0] != "0":
                    return PhoneNumber(
                        country_code=code,
                        national_number=int(national),
                        raw_input=text,
                        country_code_source=phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
                    )
                break
    return to_python(text)  # what the field makes of it

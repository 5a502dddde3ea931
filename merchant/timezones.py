"""Time zones: validation and the best guess of a customer's zone from phone and country.

Country data comes from the IANA `zone.tab` shipped by the `tzdata` package, so every machine
answers the same way. Phone numbers narrow a country down by area code (`phonenumbers`).
"""

import functools
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from phonenumbers import timezone as phone_timezone

# For countries spanning several zones, the zone most of their people live in. zone.tab lists a
# country's zones west to east, which would put Russia on Kaliningrad time.
PRINCIPAL_ZONES = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "KZ": "Asia/Almaty",
    "MX": "America/Mexico_City",
    "NZ": "Pacific/Auckland",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "US": "America/New_York",
}
UNKNOWN_PHONE_ZONE = "Etc/Unknown"


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    if not value:
        return
    if value not in _known_zones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone. Use an IANA name such as Europe/Berlin."),
            code="invalid_time_zone",
            params={"value": value},
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("“%(value)s” is not a known time zone."), code="invalid_time_zone", params={"value": value}
        ) from None


@functools.cache
def zones_by_country() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        country, _coordinates, zone, *_comment = line.split("\t")
        table.setdefault(country, []).append(zone)
    return {country: tuple(zones) for country, zones in table.items()}


def country_zone(country: str) -> str | None:
    """The principal zone of a country (ISO 3166 alpha-2), or None for an unknown code."""
    country = (country or "").upper()
    zones = zones_by_country().get(country)
    if not zones:
        return None
    return PRINCIPAL_ZONES.get(country, zones[0])


def phone_zones(phone: phonenumbers.PhoneNumber | None) -> tuple[str, ...]:
    if phone is None or not phonenumbers.is_valid_number(phone):
        return ()
    zones = phone_timezone.time_zones_for_number(phone)
    return tuple(zone for zone in zones if zone != UNKNOWN_PHONE_ZONE)


def derive_time_zone(
    *, phone: phonenumbers.PhoneNumber | None, country: str, shop_country: str, shop_zone: str
) -> tuple[str, str]:
    """Best zone for a customer who gave none, and what it was derived from.

    Returns (zone, source) with source one of "phone", "country", "shop". A phone number with a
    single zone wins (area codes pin US and German numbers down); a country spanning several zones
    takes the phone's zone if it narrows it down, the shop's zone if the shop is in that country,
    else the country's principal zone.
    """
    from_phone = phone_zones(phone)
    if len(from_phone) == 1:
        return from_phone[0], "phone"
    if not country and phone is not None and phonenumbers.is_valid_number(phone):
        country = phonenumbers.region_code_for_number(phone) or ""
    country = (country or "").upper()
    candidates = zones_by_country().get(country, ())
    if candidates:
        if len(candidates) == 1:
            return candidates[0], "country"
        narrowed = [zone for zone in candidates if zone in from_phone]
        if len(narrowed) == 1:
            return narrowed[0], "phone"
        if country == (shop_country or "").upper() and shop_zone in candidates:
            return shop_zone, "country"
        return country_zone(country) or candidates[0], "country"
    return shop_zone, "shop"

"""Legal sending hours and days for marketing messages, per country (and US state), on top of a rule's window.

The table follows the quiet hours the SMS platforms enforce by law (docs/sms.md, "Legal windows";
reference: Klaviyo's country table, Postscript's US states). A marketing message may go out only
at an instant both the rule's window and the legal window allow, on the customer's wall clock:
the intersection. Everything is computed in the message's IANA zone with `zoneinfo`, so DST is
handled the same way as the rule's window (`journeys.send_windows`).
"""

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from phonenumber_field.phonenumber import PhoneNumber

from journeys.send_windows import SendWindow, window_allows, window_describe, window_next_allowed


@dataclass(frozen=True)
class LegalWindow:
    where: str  # "US", "US-FL", "FR"
    window: SendWindow
    no_sundays: bool = False
    no_public_holidays: bool = False

    def describe(self) -> str:
        days = []
        if self.no_sundays:
            days.append("no Sundays")
        if self.no_public_holidays:
            days.append("no public holidays")
        return f"{self.where} {window_describe(self.window)}" + (f", {', '.join(days)}" if days else "")


def _hours(start: int, end: int) -> SendWindow:
    return SendWindow(dt.time(start), dt.time(end))


# Countries with a legal window for marketing. Others: the rule's window alone.
COUNTRY_WINDOWS: dict[str, LegalWindow] = {
    code: LegalWindow(code, _hours(8, 21)) for code in ("US", "CA", "GB", "IE", "DE", "NL", "AU", "NZ")
} | {"FR": LegalWindow("FR", _hours(8, 22), no_sundays=True, no_public_holidays=True)}

# US states stricter than the federal 08:00–21:00 (FL, CT, MD, OK, WA: 08:00–20:00).
US_STATE_WINDOWS: dict[str, LegalWindow] = {
    state: LegalWindow(f"US-{state}", _hours(8, 20)) for state in ("FL", "CT", "MD", "OK", "WA")
}

# The state of a US number, by area code: only the stricter states are listed (from libphonenumber's
# geocoding data). A customer row has no postal address, so the number is the only hint we have.
_STATE_AREA_CODES = {
    "FL": "239 305 321 324 352 386 407 448 561 645 656 689 727 754 772 786 813 850 863 904 941 954",
    "CT": "203 475 860 959",
    "MD": "227 240 301 410 443 667",
    "OK": "405 539 572 580 918",
    "WA": "206 253 360 425 509 564",
}
US_AREA_CODE_STATES: dict[str, str] = {
    code: state for state, codes in _STATE_AREA_CODES.items() for code in codes.split()
}


def us_state_of(phone: PhoneNumber | str | None) -> str:
    """The two-letter state of a +1 number's area code when it is one of the stricter states, else ""."""
    e164 = phone.as_e164 if isinstance(phone, PhoneNumber) else (phone or "")
    if not e164.startswith("+1") or len(e164) != 12:
        return ""
    return US_AREA_CODE_STATES.get(e164[2:5], "")


def legal_window_for(*, country: str, phone: PhoneNumber | str | None = None) -> LegalWindow | None:
    """The legal window of a customer in `country` (a US state's when the number tells it), or None."""
    if country == "US":
        state = us_state_of(phone)
        if state:
            return US_STATE_WINDOWS[state]
    return COUNTRY_WINDOWS.get(country)


@cache
def _public_holidays(where: str, year: int) -> frozenset[dt.date]:
    country, _sep, subdivision = where.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def legal_day_allows(legal: LegalWindow, day: dt.date) -> bool:
    if legal.no_sundays and day.weekday() == 6:
        return False
    return not (legal.no_public_holidays and day in _public_holidays(legal.where, day.year))


def legal_allows(legal: LegalWindow | None, moment: dt.datetime, time_zone: str) -> bool:
    if legal is None:
        return True
    local_day = moment.astimezone(ZoneInfo(time_zone)).date()
    return legal_day_allows(legal, local_day) and window_allows(legal.window, moment, time_zone)


def legal_next_allowed(legal: LegalWindow, moment: dt.datetime, time_zone: str) -> dt.datetime:
    """The earliest instant >= moment the legal window allows, as aware UTC (skips Sundays and holidays)."""
    zone = ZoneInfo(time_zone)
    candidate = moment.astimezone(dt.UTC)
    for _day in range(60):  # the longest run of closed days is a weekend plus a holiday or two
        local_day = candidate.astimezone(zone).date()
        if legal_day_allows(legal, local_day):
            opening = window_next_allowed(legal.window, candidate, time_zone)
            if opening.astimezone(zone).date() == local_day or legal_day_allows(legal, opening.astimezone(zone).date()):
                return opening
            candidate = opening
            continue
        # Closed all day: from the next local midnight (zoneinfo resolves a midnight in a DST gap).
        next_day = dt.datetime.combine(local_day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        candidate = max(next_day.astimezone(dt.UTC), candidate)
    raise RuntimeError(f"No day within 60 days is open for {legal.describe()}.")


def hours_allow(window: SendWindow, legal: LegalWindow | None, moment: dt.datetime, time_zone: str) -> bool:
    """Whether both the rule's window and the legal window allow `moment`."""
    return window_allows(window, moment, time_zone) and legal_allows(legal, moment, time_zone)


def hours_next_allowed(
    window: SendWindow, legal: LegalWindow | None, moment: dt.datetime, time_zone: str
) -> dt.datetime:
    """The earliest instant >= moment allowed by both the rule's window and the legal window (aware UTC).

    Each step moves to the earliest instant one of them allows, so no instant both allow is skipped;
    the two alternate until they agree. Disjoint windows (a rule open only at night) raise ValueError.
    """
    candidate = window_next_allowed(window, moment, time_zone)
    if legal is None:
        return candidate
    for _step in range(30):
        candidate = legal_next_allowed(legal, candidate, time_zone)
        if window_allows(window, candidate, time_zone):
            return candidate
        candidate = window_next_allowed(window, candidate, time_zone)
        if legal_allows(legal, candidate, time_zone):
            return candidate
    raise ValueError(f"The rule's window {window_describe(window)} never meets the legal window {legal.describe()}.")

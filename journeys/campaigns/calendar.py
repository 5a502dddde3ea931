"""The greeting calendar: which dates a shop may greet on (candidates), and what it approved.

Candidates for the next twelve months come from three sources:

* the `holidays` package, for the countries the shop's customers live in plus the shop's own,
  and subdivisions (DE-BY) where the owner asks for them: public holidays, and the unofficial
  ("commonly celebrated") ones where the package has that category for the country. Always
  `observed=False`: a greeting belongs on the day itself, not on the Monday off that replaces a
  Sunday. Days the package marks as substitutes for a moved workday are left out.
* `SUPPLEMENT`: greeting-worthy days the package does not list for a country. holidays 0.109
  has no Christmas Eve for Germany (not a public holiday there, and Germany has no unofficial
  category), yet it is the day Germans celebrate.
* the shop's own dates (`ShopDate`): a yearly day, Black Friday, and each customer's first-order
  anniversary (one candidate meaning "every day, for the customers whose anniversary it is").

A candidate's `key` names the holiday the same way every year ("chuseok", "christmas_eve"): it is
made from the English name, so a greeting picks it once and meets it again next year. Names are
given in English and in each language the shop and its customers use where the package has it;
a missing language falls back to English when a message is rendered (`holiday_name_pick`).

Nothing here writes: `journeys.campaigns.greetings` stores what the owner approves, and the
approved rows, not the package, decide when greetings go out. The reads of the approved calendar
(per date, and the owner's review) are in `journeys.campaigns.selectors.calendar`.
"""

import datetime as dt
import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import holidays
from dateutil.relativedelta import relativedelta
from django.conf import settings

from journeys.campaigns.models import ApprovedHoliday, Campaign, ShopDate
from merchant.models import Customer, Merchant

FIRST_ORDER_ANNIVERSARY = ShopDate.Kind.FIRST_ORDER_ANNIVERSARY.value  # also the key greetings use
LIBRARY_VERSION = f"holidays {holidays.__version__}"
SUPPLEMENT_VERSION = "supplement 1"
# Django language code -> the package's codes to try, best first (others: "pt-br" -> "pt_BR", "pt").
LIBRARY_LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": ("en_US", "en_GB"),
    "zh-hans": ("zh_CN",),
    "zh-hant": ("zh_TW", "zh_HK"),
}


class Category:
    PUBLIC = holidays.PUBLIC
    UNOFFICIAL = holidays.UNOFFICIAL
    SUPPLEMENT = "supplement"
    SHOP = "shop"


@dataclass(frozen=True)
class Candidate:
    """One date the owner may approve for greetings."""

    key: str
    date: dt.date
    country: str  # ISO 3166-1 alpha-2; "" for a shop date (every country)
    subdivision: str  # ISO 3166-2 ("DE-BY"); "" for the whole country
    names: dict[str, str] = field(hash=False, compare=False)  # language code -> name; "en" when known
    source: str = ApprovedHoliday.Source.CALENDAR  # ApprovedHoliday.Source
    source_version: str = LIBRARY_VERSION
    category: str = Category.PUBLIC
    estimated: bool = False  # a lunar-calendar date the package computed, not one an authority announced
    every_day: bool = False  # first-order anniversary: greets on every day, whoever's anniversary it is

    @property
    def name(self) -> str:
        return self.names.get("en") or next(iter(self.names.values()), self.key)

    @property
    def identity(self) -> tuple[str, str, str]:
        """What stays the same when the package moves or renames the date."""
        return (self.country, self.subdivision, self.key)


@dataclass(frozen=True)
class CalendarCandidates:
    start: dt.date
    end: dt.date  # exclusive
    candidates: list[Candidate]
    # Countries of customers the package has no calendar for (their shop dates still apply).
    unsupported_countries: tuple[str, ...] = ()


class UnknownSubdivision(ValueError):
    pass


# --- keys and windows -----------------------------------------------------------------------------


def holiday_key(english_name: str) -> str:
    """A stable, readable key: "Christmas Eve" -> "christmas_eve", "New Year's Day" -> "new_years_day".

    A name without Latin letters (a package without English names for a country) gets a key made
    from a hash of the name, which is stable as long as the name is.
    """
    folded = unicodedata.normalize("NFKD", english_name).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "_", re.sub(r"['’`]", "", folded)).strip("_")
    if not key:
        key = "h_" + hashlib.sha256(english_name.encode()).hexdigest()[:12]
    return key[:80]


def calendar_window(start: dt.date, *, months: int = 12) -> tuple[dt.date, dt.date]:
    """[start, start + months): the days the owner reviews."""
    return start, start + relativedelta(months=months)


def black_friday(year: int) -> dt.date:
    """The day after the fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(days=22)


def _yearly(year: int, month: int, day: int) -> dt.date:
    """The day in `year`; 29 February falls on the 28th in other years."""
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        day = 28
    return dt.date(year, month, day)


# --- the holidays package -------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryName:
    name: str
    estimated: bool = False
    skip: bool = False  # a substitute day off, not a holiday to greet


def _entity_class(country: str) -> type:
    """The package's class for a country. NotImplementedError when it has none."""
    return type(holidays.country_holidays(country))


def _categories(entity_class: type) -> tuple[str, ...]:
    supported = getattr(entity_class, "supported_categories", (Category.PUBLIC,))
    return tuple(category for category in (Category.PUBLIC, Category.UNOFFICIAL) if category in supported)


def _label_pattern(entity: holidays.HolidayBase, attribute: str) -> re.Pattern | None:
    """The package's label (e.g. "%s (estimated)"), in the entity's language, as a pattern capturing the name."""
    label = getattr(entity, attribute, "")
    if not label or label == "%s":
        return None
    prefix, marker, suffix = entity.tr(label).partition("%s")
    if not marker:
        return None
    return re.compile(re.escape(prefix) + "(.+)" + re.escape(suffix) + r"\Z", re.DOTALL)


@functools.lru_cache(maxsize=1024)
def _library_days(
    country: str, subdivision: str, years: tuple[int, ...], language: str | None, categories: tuple[str, ...] = ()
) -> dict[dt.date, tuple[LibraryName, ...]]:
    """Each date of the package's calendar with its holidays' names in `language` (None: the package's own),
    in `categories` (default: public, and unofficial where the country has it)."""
    entity = holidays.country_holidays(
        country,
        subdiv=subdivision or None,
        years=years,
        observed=False,
        categories=categories or _categories(_entity_class(country)),
        language=language,
    )
    estimated = _label_pattern(entity, "estimated_label")
    substituted = _label_pattern(entity, "substituted_label")
    days: dict[dt.date, tuple[LibraryName, ...]] = {}
    for date in sorted(entity):
        names = []
        for name in entity.get_list(date):
            found = estimated.match(name) if estimated else None
            skip = bool(substituted and substituted.match(name))
            names.append(LibraryName(found.group(1).strip() if found else name, estimated=bool(found), skip=skip))
        days[date] = tuple(names)
    return days


def _library_language(language: str, supported: Iterable[str]) -> str | None:
    supported = tuple(supported)
    region = language.split("-")
    tried = (*LIBRARY_LANGUAGES.get(language, ()), "_".join([region[0], *(part.upper() for part in region[1:])]))
    for code in (*tried, region[0]):
        if code in supported:
            return code
    return None


def _english(entity_class: type) -> str | None:
    """The package's code for English names of a country; None where its names are untranslated.

    Every country of holidays 0.109 either has en_US or no translations at all (its names are then
    written in English). A country with translations but no English gets keys from its own names.
    """
    supported = getattr(entity_class, "supported_languages", ())
    return _library_language("en", supported) if supported else None


def country_candidates(
    *, country: str, start: dt.date, end: dt.date, languages: Iterable[str] = ("en",), subdivision: str = ""
) -> list[Candidate]:
    """The package's (and the supplement's) greeting dates of one country or subdivision in [start, end).

    `subdivision` is the package's code within the country ("BY"); candidates carry the ISO 3166-2
    form ("DE-BY"). NotImplementedError for a country the package does not know; UnknownSubdivision
    for a subdivision it does not know.
    """
    languages = list(dict.fromkeys(languages))
    entity_class = _entity_class(country)
    if subdivision and subdivision not in (
        *getattr(entity_class, "subdivisions", ()),
        *getattr(entity_class, "subdivisions_aliases", {}),
    ):
        raise UnknownSubdivision(f"{country}-{subdivision}")
    years = tuple(range(start.year, end.year + 1))
    supported = getattr(entity_class, "supported_languages", ())
    english_code = _english(entity_class)
    # Names are English when the package has English for the country or no translations at all.
    english_known = english_code is not None or not supported
    english = _library_days(country, subdivision, years, english_code)
    localized: dict[str, dict[dt.date, tuple[LibraryName, ...]]] = {}
    for language in languages:
        code = _library_language(language, supported) if language != "en" else None
        if code is not None:
            localized[language] = _library_days(country, subdivision, years, code)
    unofficial = set()
    if Category.UNOFFICIAL in _categories(entity_class):
        only = _library_days(country, subdivision, years, english_code, (Category.UNOFFICIAL,))
        unofficial = {(date, named.name) for date, names in only.items() for named in names}
    found: dict[tuple[str, dt.date], Candidate] = {}
    for date, names in english.items():
        if not start <= date < end:
            continue
        for position, named in enumerate(names):
            if named.skip:
                continue
            key = holiday_key(named.name)
            per_language = {"en": named.name} if english_known else {}
            for language, days in localized.items():
                other = days.get(date, ())
                # The same holidays in the same order; a differing count means a name we cannot pair.
                if len(other) == len(names):
                    per_language[language] = other[position].name
            found.setdefault(
                (key, date),
                Candidate(
                    key=key,
                    date=date,
                    country=country,
                    subdivision=f"{country}-{subdivision}" if subdivision else "",
                    names=per_language,
                    category=Category.UNOFFICIAL if (date, named.name) in unofficial else Category.PUBLIC,
                    estimated=named.estimated,
                ),
            )
    if not subdivision:
        for extra in SUPPLEMENT.get(country, ()):
            for year in years:
                date = _yearly(year, extra.month, extra.day)
                if start <= date < end and (extra.key, date) not in found:
                    found[(extra.key, date)] = Candidate(
                        key=extra.key,
                        date=date,
                        country=country,
                        subdivision="",
                        names={lang: name for lang, name in extra.names.items() if lang == "en" or lang in languages},
                        source_version=SUPPLEMENT_VERSION,
                        category=Category.SUPPLEMENT,
                    )
    return sorted(found.values(), key=lambda candidate: (candidate.date, candidate.key))


# --- the supplement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplementDay:
    key: str
    month: int
    day: int
    names: dict[str, str]


CHRISTMAS_EVE = SupplementDay(
    "christmas_eve",
    12,
    24,
    {"en": "Christmas Eve", "de": "Heiligabend", "ru": "Сочельник", "ko": "크리스마스 이브", "zh-hans": "平安夜"},
)
NEW_YEARS_EVE = SupplementDay(
    "new_years_eve",
    12,
    31,
    {"en": "New Year's Eve", "de": "Silvester", "ru": "Канун Нового года", "ko": "새해 전야", "zh-hans": "跨年夜"},
)
# Per country: days its people celebrate that the package does not list (checked against holidays
# 0.109; a day the package lists on the same date under the same key is not added twice).
SUPPLEMENT: dict[str, tuple[SupplementDay, ...]] = {
    "DE": (CHRISTMAS_EVE, NEW_YEARS_EVE),
    "AT": (CHRISTMAS_EVE, NEW_YEARS_EVE),
    "CH": (CHRISTMAS_EVE, NEW_YEARS_EVE),
}


# --- the shop's calendar --------------------------------------------------------------------------


def calendar_countries(shop: Merchant) -> list[str]:
    """The countries the shop's customers live in, and the shop's own."""
    countries = set(Customer.objects.filter(shop=shop).exclude(country="").values_list("country", flat=True).distinct())
    if shop.country:
        countries.add(str(shop.country))
    return sorted(countries)


def calendar_languages(shop: Merchant) -> list[str]:
    """English, the shop's language and its customers' languages (those the back-office speaks)."""
    known = {code for code, _name in settings.LANGUAGES}
    used = set(Customer.objects.filter(shop=shop).exclude(language="").values_list("language", flat=True).distinct())
    return ["en", *sorted((used | {shop.default_language}) & known - {"en"})]


def shop_date_names(shop_date: ShopDate, shop: Merchant) -> dict[str, str]:
    return {shop.default_language: shop_date.name, **{k: v for k, v in shop_date.names.items() if v}}


def shop_date_key(shop_date: ShopDate) -> str:
    return (
        FIRST_ORDER_ANNIVERSARY if shop_date.kind == ShopDate.Kind.FIRST_ORDER_ANNIVERSARY else f"shop:{shop_date.pk}"
    )


def shop_date_candidates(*, shop: Merchant, start: dt.date, end: dt.date) -> list[Candidate]:
    """The shop's own dates in [start, end); the first-order anniversary once, dated `start`, meaning every day."""
    found = []
    for shop_date in ShopDate.objects.filter(shop=shop).order_by("pk"):
        names = shop_date_names(shop_date, shop)
        common = {"country": "", "subdivision": "", "names": names, "source": ApprovedHoliday.Source.SHOP}
        common |= {"source_version": "", "category": Category.SHOP}
        if shop_date.kind == ShopDate.Kind.FIRST_ORDER_ANNIVERSARY:
            found.append(Candidate(key=FIRST_ORDER_ANNIVERSARY, date=start, every_day=True, **common))
            continue
        for year in range(start.year, end.year + 1):
            if shop_date.kind == ShopDate.Kind.BLACK_FRIDAY:
                date = black_friday(year)
            else:
                date = _yearly(year, shop_date.month, shop_date.day)
            if start <= date < end:
                found.append(Candidate(key=shop_date_key(shop_date), date=date, **common))
    return found


def _subdivisions_by_country(subdivisions: Iterable[str]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = defaultdict(list)
    for code in subdivisions:
        country, _dash, subdivision = code.strip().upper().partition("-")
        if not subdivision:
            raise UnknownSubdivision(code)
        wanted[country].append(subdivision)
    return wanted


def calendar_candidates(
    *,
    shop: Merchant,
    start: dt.date,
    end: dt.date | None = None,
    subdivisions: Iterable[str] = (),
    countries: Iterable[str] | None = None,
    languages: Iterable[str] | None = None,
) -> CalendarCandidates:
    """Every candidate greeting date of the shop in [start, end) (default: twelve months), by date.

    `subdivisions` ("DE-BY", "US-CA") add the days only that subdivision has; UnknownSubdivision
    names one the package does not know. Countries the package does not know are reported, not
    raised.
    """
    end = end or calendar_window(start)[1]
    countries = calendar_countries(shop) if countries is None else sorted(set(countries))
    languages = calendar_languages(shop) if languages is None else list(languages)
    by_country = _subdivisions_by_country(subdivisions)
    found: list[Candidate] = []
    unsupported = []
    for country in sorted(set(countries) | set(by_country)):
        try:
            national = country_candidates(country=country, start=start, end=end, languages=languages)
        except NotImplementedError:
            unsupported.append(country)
            continue
        found.extend(national)
        seen = {(candidate.key, candidate.date) for candidate in national}
        for subdivision in by_country.get(country, ()):
            regional = country_candidates(
                country=country, start=start, end=end, languages=languages, subdivision=subdivision
            )
            found.extend(candidate for candidate in regional if (candidate.key, candidate.date) not in seen)
    found.extend(shop_date_candidates(shop=shop, start=start, end=end))
    found.sort(key=lambda c: (c.date, c.country, c.subdivision, c.key))
    return CalendarCandidates(start, end, found, tuple(unsupported))


# --- names in messages ----------------------------------------------------------------------------


def holiday_name_pick(names: dict[str, str], *, language: str, fallback_languages: Iterable[str] = ()) -> str:
    """The name in `language`, else English, else the first of `fallback_languages` present, else any."""
    for code in (language, "en", *fallback_languages):
        if names.get(code):
            return names[code]
    return next((name for name in names.values() if name), "")


def occurrence_holiday_name(campaign: Campaign, *, language: str, country: str = "") -> str:
    """The name of a greeting occurrence's holiday in `language`, from the approved calendar (not the package).

    Several countries may have approved the same key on the same date under different names: the
    customer's country's row wins, then a shop-wide row, then any. The rows are read once per
    campaign object, so a batch of messages sharing one loaded campaign costs one query.
    """
    if not campaign.holiday_key:
        return ""
    cache = campaign.__dict__.get("_holiday_names")
    if cache is None:
        if campaign.holiday_key == FIRST_ORDER_ANNIVERSARY:
            shop_date = ShopDate.objects.filter(shop_id=campaign.shop_id, kind=FIRST_ORDER_ANNIVERSARY).first()
            cache = [("", shop_date_names(shop_date, campaign.shop))] if shop_date else []
        else:
            cache = list(
                ApprovedHoliday.objects.filter(
                    shop_id=campaign.shop_id, key=campaign.holiday_key, date=campaign.holiday_date
                )
                .order_by("country", "subdivision", "pk")
                .values_list("country", "names")
            )
        campaign.__dict__["_holiday_names"] = cache
    if not cache:
        return ""
    ranked = sorted(cache, key=lambda row: (row[0] != country, row[0] != ""))
    return holiday_name_pick(ranked[0][1], language=language)

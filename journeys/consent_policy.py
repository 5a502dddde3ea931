"""Which messages count as marketing, per country: the shipped defaults and the planner's lookup.

A rule marked marketing is marketing everywhere. A transactional rule becomes marketing for
customers of a country where the shop says so (`CountryMessageClass`); every shop starts with the
defaults below, taken from the law (docs/journeys.md, "Consent"). Triggers are named, not
imported: `review_request` belongs to the reviews app, which registers it in `journeys.triggers`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_countries import countries

from journeys.models import CountryMessageClass, MessageClass
from merchant.models import Merchant

# (country, trigger) -> why it is marketing there.
COUNTRY_DEFAULTS: dict[tuple[str, str], str] = {
    # BGH 10.07.2018, VI ZR 225/17: a satisfaction or review request, even inside an invoice email,
    # is advertising and needs consent (or a §7(3) UWG objection notice at collection).
    ("DE", "review_request"): "BGH 10.07.2018, VI ZR 225/17: a review request is advertising.",
    ("DE", "review_reminder"): "BGH 10.07.2018, VI ZR 225/17: a review request is advertising.",
    ("DE", "satisfaction_survey"): "BGH 10.07.2018, VI ZR 225/17: a satisfaction request is advertising.",
}


@transaction.atomic
def country_message_classes_default_create(shop: Merchant, *, is_demo: bool = False) -> list[CountryMessageClass]:
    """Give a shop the shipped per-country classes. Idempotent: a row the owner changed is left as it is."""
    rows = []
    for (country, trigger), note in COUNTRY_DEFAULTS.items():
        row, _created = CountryMessageClass.objects.get_or_create(
            shop=shop,
            country=country,
            trigger=trigger,
            defaults={"message_class": MessageClass.MARKETING, "note": note},
        )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class EffectiveClass:
    message_class: str
    # Why it differs from the rule's class, for the message's explanation; "" when it does not.
    note: str = ""


_MARKETING_TRIGGERS_SQL = (
    "SELECT trigger FROM journeys_countrymessageclass "
    "WHERE shop_id = %s AND country = %s AND message_class = %s AND trigger IN ({triggers})"
)


def marketing_triggers_for(*, shop_id: int, country: str, triggers: list[str]) -> frozenset[str]:
    """Which of `triggers` the shop treats as marketing for customers of `country`.

    One query (written out: it runs inside every order change, see journeys.services.planning);
    none for a customer without a country.
    """
    if not country or not triggers:
        return frozenset()
    sql = _MARKETING_TRIGGERS_SQL.format(triggers=", ".join(["%s"] * len(triggers)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop_id, country, MessageClass.MARKETING, *triggers])
        return frozenset(row[0] for row in cursor.fetchall())


def marketing_triggers_by_country(*, shop_id: int, trigger: str) -> Callable[[str], frozenset[str]]:
    """For planning many messages of one rule: country -> `marketing_triggers` for it, after one query."""
    marketing_in = set(
        CountryMessageClass.objects.filter(
            shop_id=shop_id, trigger=trigger, message_class=MessageClass.MARKETING
        ).values_list("country", flat=True)
    )
    return lambda country: frozenset({trigger}) if country in marketing_in else frozenset()


def effective_class(
    *, rule_class: str, trigger: str, country: str, marketing_triggers: frozenset[str]
) -> EffectiveClass:
    """The class of a message of `trigger` for a customer in `country`, given the shop's marketing triggers there."""
    if rule_class == MessageClass.MARKETING:
        return EffectiveClass(MessageClass.MARKETING)
    if trigger in marketing_triggers:
        return EffectiveClass(
            MessageClass.MARKETING,
            _("Marketing in %(country)s: needs consent.") % {"country": countries.name(country) or country},
        )
    return EffectiveClass(rule_class)

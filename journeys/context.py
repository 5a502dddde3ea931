"""The fixed, documented context every message template is rendered with.

Templates see plain values, never model objects, so a template cannot call methods or reach
data outside this list. `CONTEXT_SCHEMA` is the single declaration: it documents each name,
lets template validation refuse unknown ones, and gives the longest realistic value of each
field for the worst-case SMS length preview. Other apps add links (review page, return portal,
order status page) with `link_register()`, and plain values of their own messages (the words a
staff member wrote, a referral code) with `value_register()`; journeys never imports them.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Field:
    description: str
    worst_case: Any  # the longest realistic value, for SMS length previews


def _when(day: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, 14, 30, tzinfo=dt.UTC)


# name -> Field for scalars; name -> {attribute: Field} for objects; "lines" is a list of objects.
CONTEXT_SCHEMA: dict[str, Any] = {
    "customer": {
        "first_name": Field("First name", "Maximilian-Alexander"),
        "last_name": Field("Last name", "Schwarzenberg-Hohenlohe"),
        "full_name": Field("Name in the customer's language's order", "Maximilian-Alexander Schwarzenberg"),
        "email": Field("Email address", "maximilian.schwarzenberg@example-mail.de"),
        "phone": Field("Phone number (E.164)", "+491511234567890"),
    },
    "order": {
        "number": Field("Order number the customer sees", "#SHOP-2026-1234567"),
        "total": Field("Order total", Decimal("123456.78")),
        "currency": Field("Currency code", "EUR"),
        "total_display": Field("Total with currency", "123456.78 EUR"),
        "status": Field("Status name", "Partially refunded"),
        "item_count": Field("Number of items", 99),
        "placed_at": Field("When it was placed (date filter shows it in the customer's zone)", _when(1)),
        "paid_at": Field("When it was paid", _when(1)),
        "ship_by": Field("Promised ship-by time", _when(3)),
        "shipped_at": Field("When the first parcel left", _when(4)),
        "delivered_at": Field("When it was delivered", _when(6)),
        "refunded_total": Field("Refunded so far", Decimal("123456.78")),
    },
    "lines": {
        "title": Field("Product title", "Organic cotton hooded sweatshirt, forest green"),
        "quantity": Field("Quantity", 99),
        "sku": Field("SKU", "SWEAT-ORG-GRN-XXL"),
        "total": Field("Line total", Decimal("99999.99")),
    },
    "shop": {
        "name": Field("Shop name", "Schwarzwald Outdoor Ausrüstung"),
        "sender_name": Field("Sender name", "SchwarzwaldOut"),
        "contact_email": Field("Support email", "kundenservice@schwarzwald-outdoor.example"),
        "contact_phone": Field("Support phone", "+497612345678"),
    },
    "shipment": {
        "carrier": Field("Carrier of the parcel", "Deutsche Post DHL Paket"),
        "tracking_number": Field("Tracking number", "JJD000390007654321123"),
        "tracking_url": Field(
            "Tracking link",
            "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=JJD000390007654321123",
        ),
        "status": Field("What the carrier last said", "Out for delivery"),
        "last_update_at": Field("When the carrier last said something", _when(5)),
    },
    "tracking_url": Field(
        "Tracking link of the parcel (same as shipment.tracking_url)",
        "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=JJD000390007654321123",
    ),
    "refund": {
        "amount": Field("Amount of this refund", Decimal("123456.78")),
        "currency": Field("Currency code", "EUR"),
        "amount_display": Field("Amount with currency", "123456.78 EUR"),
    },
    "coupon": Field("A single-use coupon code, when the rule hands one out", "WELCOME-BACK-7F3KQ9"),
    # Messages of a campaign or a holiday greeting; empty in order care.
    "holiday": Field(
        "Holiday greetings: the holiday's name in the message's language (as approved)",
        "Juneteenth National Independence Day",
    ),
    "campaign": Field(
        "Name of the campaign or greeting the message belongs to", "Winter sale: 30% off all outdoor gear"
    ),
    "links": {},  # filled by link_register(); see below
}


@dataclass(frozen=True)
class LinkSpec:
    name: str
    description: str
    worst_case: str
    make: Callable[..., str]  # (message) -> absolute URL, or "" when it does not apply


_links: dict[str, LinkSpec] = {}


def link_register(spec: LinkSpec) -> LinkSpec:
    """Let templates use `{{ links.<name> }}`, e.g. reviews registers `links.review`."""
    _links[spec.name] = spec
    return spec


def links_all() -> dict[str, LinkSpec]:
    return dict(_links)


@dataclass(frozen=True)
class ValueSpec:
    """A top-level text value another app adds to the context, e.g. reviews' `staff_message`."""

    name: str
    description: str
    worst_case: str
    # (message) -> the text, or "" when it does not apply. Called for every message rendered: answer ""
    # without a query for messages of other triggers.
    make: Callable[..., str]
    # The triggers whose messages the value is for. Several apps may then register the same name, each
    # for its own triggers (reviews' follow-ups and the support queue's replies both carry `staff_message`).
    # Empty: every trigger, and the name is the app's alone.
    triggers: frozenset[str] = frozenset()


_values: dict[str, ValueSpec] = {}
# The parts of a value several apps share, by name, then by the triggers each part is for.
_value_parts: dict[str, dict[frozenset[str], ValueSpec]] = {}


def _value_shared(name: str, parts: list[ValueSpec]) -> ValueSpec:
    """One value whose maker hands each message to the part registered for its trigger."""
    makers = {trigger: part.make for part in parts for trigger in part.triggers}

    def make(message) -> str:
        maker = makers.get(message.trigger)
        return maker(message) if maker else ""

    return ValueSpec(
        name=name,
        description="; ".join(part.description for part in parts),
        worst_case=max((part.worst_case for part in parts), key=len),
        make=make,
        triggers=frozenset(makers),
    )


def value_register(spec: ValueSpec) -> ValueSpec:
    """Let templates use `{{ <name> }}`. Registering the same name again replaces it (app reloads in tests),
    unless both registrations name their triggers: then each answers for its own."""
    if spec.name in CONTEXT_SCHEMA:
        raise ValueError(f"“{spec.name}” is a name of the fixed context.")
    if not spec.triggers:
        _value_parts.pop(spec.name, None)
        _values[spec.name] = spec
        return spec
    parts = _value_parts.setdefault(spec.name, {})
    parts[spec.triggers] = spec
    _values[spec.name] = _value_shared(spec.name, list(parts.values()))
    return spec


def values_all() -> dict[str, ValueSpec]:
    return dict(_values)


def context_names() -> dict[str, Any]:
    """Top-level names with their attributes (a dict) or None for scalars, links included."""
    names: dict[str, Any] = {}
    for name, value in CONTEXT_SCHEMA.items():
        names[name] = set(value) if isinstance(value, dict) else None
    names["links"] = set(_links)
    names.update(dict.fromkeys(_values))
    return names


def context_worst_case() -> dict[str, Any]:
    """A context where every field holds its longest realistic value."""
    context: dict[str, Any] = {}
    for name, value in CONTEXT_SCHEMA.items():
        if isinstance(value, Field):
            context[name] = value.worst_case
        else:
            context[name] = {attribute: spec.worst_case for attribute, spec in value.items()}
    context["lines"] = [context["lines"]] * 3
    context["links"] = {name: spec.worst_case for name, spec in _links.items()}
    context.update({name: spec.worst_case for name, spec in _values.items()})
    return context

"""Customers, their tags, and the products they buy."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_countries import countries

from merchant.models import Customer, Merchant, Product, Tag
from merchant.phones import phone_parse
from merchant.platforms.snapshots import CustomerSnapshot
from merchant.services.field_updates import fields_check_allowed, row_update, row_validate
from merchant.timezones import derive_time_zone

CUSTOMER_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "phone_as_received",
    "phone_problem",
    "country",
    "language",
    "time_zone",
    "sms_marketing_consent_at",
    "sms_marketing_consent_source",
    "email_marketing_consent_at",
    "email_marketing_consent_source",
    "sms_opted_out_at",
    "email_opted_out_at",
)


def _customer_fill_time_zone(customer: Customer) -> None:
    """Keep a given zone; otherwise derive one from phone, then country, then the shop."""
    if customer.time_zone and customer.time_zone_source in ("", Customer.TimeZoneSource.GIVEN):
        customer.time_zone_source = Customer.TimeZoneSource.GIVEN
        return
    phone = customer.phone if customer.phone and customer.phone.is_valid() else None
    zone, source = derive_time_zone(
        phone=phone,
        country=str(customer.country or ""),
        shop_country=str(customer.shop.country),
        shop_zone=customer.shop.time_zone,
    )
    customer.time_zone, customer.time_zone_source = zone, source


def customer_create(*, shop: Merchant, tags: Iterable[str] = (), **fields: Any) -> Customer:
    """Create a customer of `shop`; the time zone is derived when not given. Validates every field."""
    fields_check_allowed(fields, CUSTOMER_FIELDS)
    customer = Customer(shop=shop, **fields)
    if customer.time_zone:
        customer.time_zone_source = Customer.TimeZoneSource.GIVEN
    _customer_fill_time_zone(customer)
    row_validate(customer)
    customer.save()
    if tags:
        customer.tags.set(_tags_get_or_create(shop=shop, names=tags))
    return customer


def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    """Change a customer's fields. A zone derived earlier is derived again from the new phone/country."""
    fields_check_allowed(fields, CUSTOMER_FIELDS)
    if "phone" in fields and "phone_as_received" not in fields:
        # A person typed a number: it replaces whatever a platform sent and its problem.
        fields = {**fields, "phone_as_received": "", "phone_problem": ""}
    if "time_zone" in fields and fields["time_zone"] != customer.time_zone:
        customer.time_zone_source = Customer.TimeZoneSource.GIVEN if fields["time_zone"] else ""
    for name, value in fields.items():
        setattr(customer, name, value)
    if customer.time_zone_source != Customer.TimeZoneSource.GIVEN:
        customer.time_zone = ""
    _customer_fill_time_zone(customer)
    row_validate(customer)
    customer.save()
    return customer


@transaction.atomic
def customer_phone_flag(*, customer: Customer, phone: str, problem: str) -> Customer:
    """Stop texting a number a provider said can never take texts (invalid, landline, unknown).

    The number is kept as received with the reason and `phone` is emptied, as for a number a
    platform sent that is not in service, so no SMS is attempted again. Only when the customer
    still has `phone`: a number changed since the message was sent is left alone.
    """
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if not locked.phone or str(locked.phone) != str(phone):
        return locked
    changes = {"phone": "", "phone_as_received": str(locked.phone), "phone_problem": problem[:200]}
    for name, value in changes.items():
        setattr(locked, name, value)
        setattr(customer, name, value)
    locked.save(update_fields=[*changes, "updated_at"])
    return locked


def _tags_get_or_create(*, shop: Merchant, names: Iterable[str]) -> list[Tag]:
    cleaned = sorted({name.strip() for name in names if name and name.strip()})
    existing = {tag.name: tag for tag in Tag.objects.filter(shop=shop, name__in=cleaned)}
    missing = [Tag(shop=shop, name=name) for name in cleaned if name not in existing]
    Tag.objects.bulk_create(missing)
    return list(Tag.objects.filter(shop=shop, name__in=cleaned))


def tag_create(*, shop: Merchant, name: str) -> Tag:
    tag = Tag(shop=shop, name=(name or "").strip())
    tag.full_clean()
    tag.save()
    return tag


def tag_rename(*, tag: Tag, name: str) -> Tag:
    tag.name = (name or "").strip()
    tag.full_clean()
    tag.save(update_fields=["name", "updated_at"])
    return tag


def product_create(
    *, shop: Merchant, title: str, external_id: str | None = None, sku: str = "", category: str = ""
) -> Product:
    product = Product(shop=shop, title=title, external_id=external_id or None, sku=sku, category=category)
    row_validate(product)
    product.save()
    return product


def product_update(*, product: Product, **fields: Any) -> Product:
    return row_update(product, fields=fields, allowed=("title", "external_id", "sku", "category"))


def _phone_read(text: str, *, region: str) -> dict[str, Any]:
    """Customer phone fields for a number as a platform sent it: E.164 when it is a number in
    service, else kept as received with the reason and no number to text."""
    text = (text or "").strip()[:64]
    if not text:
        return {}
    try:
        parsed = phone_parse(text, region=region)
    except ValidationError as error:
        return {"phone": "", "phone_as_received": text, "phone_problem": " ".join(error.messages)[:200]}
    return {"phone": parsed, "phone_as_received": text, "phone_problem": ""}


def customer_sync(*, shop: Merchant, snapshot: CustomerSnapshot) -> Customer:
    """Create or update the customer a platform describes; found by external id, else email, else phone.

    Empty values never erase what is known; marketing consent keeps the time it was first given.
    """
    fields: dict[str, Any] = {
        "first_name": snapshot.first_name[:150],
        "last_name": snapshot.last_name[:150],
        "email": snapshot.email.strip().lower(),
        "country": snapshot.country.upper() if snapshot.country.upper() in countries else "",
        "language": snapshot.language,
        "time_zone": snapshot.time_zone,
    }
    fields = {name: value for name, value in fields.items() if value}
    fields.update(_phone_read(snapshot.phone_text, region=fields.get("country") or str(shop.country)))
    customer = _customer_find(shop=shop, snapshot=snapshot, email=fields.get("email", ""), phone=fields.get("phone"))
    consents = {
        "email_marketing_consent_at": snapshot.email_marketing_consent_at,
        "sms_marketing_consent_at": snapshot.sms_marketing_consent_at,
    }
    if customer is None:
        new_fields = dict(fields)
        for name, given_at in consents.items():
            if given_at:
                new_fields[name] = given_at
                new_fields[name.replace("_at", "_source")] = snapshot.consent_source[:120]
        try:
            with transaction.atomic():
                return customer_create(shop=shop, external_id=snapshot.external_id, tags=snapshot.tags, **new_fields)
        except IntegrityError:
            # Created a moment ago by another delivery naming the same customer: update that one.
            customer = Customer.objects.get(shop=shop, external_id=snapshot.external_id)
    if snapshot.external_id and not customer.external_id:
        fields["external_id"] = snapshot.external_id
    for name, given_at in consents.items():
        if given_at and getattr(customer, name) is None:
            fields[name] = given_at
            fields[name.replace("_at", "_source")] = snapshot.consent_source[:120]
    if snapshot.tags:
        customer.tags.add(*_tags_get_or_create(shop=shop, names=snapshot.tags))
    changed = {name: value for name, value in fields.items() if getattr(customer, name) != value}
    if not changed:
        return customer
    return customer_update(customer=customer, **changed)


def _customer_find(*, shop: Merchant, snapshot: CustomerSnapshot, email: str, phone) -> Customer | None:
    customers = Customer.objects.filter(shop=shop)
    if snapshot.external_id:
        found = customers.filter(external_id=snapshot.external_id).first()
        if found is not None:
            return found
        # Another platform id means another person, even with the same email.
        customers = customers.filter(external_id__isnull=True)
    if email:
        found = customers.filter(email__iexact=email).order_by("id").first()
        if found is not None:
            return found
    if phone:
        return customers.filter(phone=phone).order_by("id").first()
    return None


def products_sync(*, shop: Merchant, lines: Iterable[tuple[str, str, str]]) -> dict[str, Product]:
    """The shop's products for (platform id, title, sku) triples, created from order lines when new.

    One query for the known ones; two orders bringing the same new product at once both end up
    with the one row (the loser of the insert race reads the winner's).
    """
    wanted = {external_id: (title, sku) for external_id, title, sku in lines if external_id}
    found = {product.external_id: product for product in Product.objects.filter(shop=shop, external_id__in=wanted)}
    for external_id, (title, sku) in wanted.items():
        if external_id in found:
            continue
        try:
            with transaction.atomic():
                found[external_id] = product_create(
                    shop=shop, external_id=external_id, title=title[:255] or external_id, sku=sku[:100]
                )
        except IntegrityError:
            found[external_id] = Product.objects.get(shop=shop, external_id=external_id)
    return found

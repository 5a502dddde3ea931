"""Customers, their tags, and the products they buy."""

from collections.abc import Iterable
from typing import Any

from merchant.models import Customer, Merchant, Product, Tag
from merchant.services.field_updates import fields_check_allowed, row_update
from merchant.timezones import derive_time_zone

CUSTOMER_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
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
    customer.full_clean()
    customer.save()
    if tags:
        customer.tags.set(_tags_get_or_create(shop=shop, names=tags))
    return customer


def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    """Change a customer's fields. A zone derived earlier is derived again from the new phone/country."""
    fields_check_allowed(fields, CUSTOMER_FIELDS)
    if "time_zone" in fields and fields["time_zone"] != customer.time_zone:
        customer.time_zone_source = Customer.TimeZoneSource.GIVEN if fields["time_zone"] else ""
    for name, value in fields.items():
        setattr(customer, name, value)
    if customer.time_zone_source != Customer.TimeZoneSource.GIVEN:
        customer.time_zone = ""
    _customer_fill_time_zone(customer)
    customer.full_clean()
    customer.save()
    return customer


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
    product.full_clean()
    product.save()
    return product


def product_update(*, product: Product, **fields: Any) -> Product:
    return row_update(product, fields=fields, allowed=("title", "external_id", "sku", "category"))

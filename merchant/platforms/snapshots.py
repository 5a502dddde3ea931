"""Platform-neutral pictures of an order and its parts, as a platform last described them.

Mappers (`shopify.py`, `woocommerce.py`) build these from webhook bodies; the ingestion service
applies them through the order services. Text fields are as received (phones are not parsed
here: that needs the shop's country). Times are timezone-aware UTC. Money is Decimal.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


class PayloadError(ValueError):
    """A body that cannot be read as the resource its topic promises; the message says where."""


@dataclass(frozen=True)
class CustomerSnapshot:
    external_id: str | None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone_text: str = ""  # free text as received, e.g. "555-625-1199"; parsed later with `country`
    country: str = ""  # ISO 3166 alpha-2, upper case, "" when unknown (default region for the phone)
    language: str = ""  # one of settings.LANGUAGES codes, or "" when unknown/unsupported
    email_marketing_consent_at: dt.datetime | None = None
    sms_marketing_consent_at: dt.datetime | None = None
    consent_source: str = ""  # e.g. "shopify checkout"
    time_zone: str = ""  # IANA name when the source states one (the REST API may)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineSnapshot:
    external_id: str | None
    title: str
    quantity: int
    unit_price: Decimal
    sku: str = ""
    product_external_id: str | None = None


@dataclass(frozen=True)
class ShipmentSnapshot:
    external_id: str | None
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    # One of merchant.models.Shipment.Status values, or None when the carrier said nothing yet.
    status: str | None = None
    # The platform's own word for the status, kept for the timeline (e.g. "attempted_delivery").
    raw_status: str = ""
    shipped_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    line_external_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefundSnapshot:
    external_id: str | None
    amount: Decimal
    refunded_at: dt.datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class OrderSnapshot:
    external_id: str
    number: str
    currency: str
    placed_at: dt.datetime
    updated_at: dt.datetime | None
    customer: CustomerSnapshot | None
    lines: tuple[LineSnapshot, ...]
    total: Decimal
    shipping_total: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    discount_total: Decimal = Decimal("0")
    language: str = ""
    paid_at: dt.datetime | None = None  # set when the platform says the order is paid
    ship_by: dt.datetime | None = None  # the promised dispatch time, when the platform knows one
    warehouse: str = ""  # where it ships from, when the platform (or API caller) says
    discount_codes: tuple[str, ...] = ()  # codes used at checkout, as sent (Shopify discount_codes, Woo coupon_lines)
    cancelled_at: dt.datetime | None = None
    cancel_reason: str = ""
    # "none", "partial" or "full": how much of the order the platform says has shipped.
    fulfillment: str = "none"
    shipments: tuple[ShipmentSnapshot, ...] = ()
    refunds: tuple[RefundSnapshot, ...] = ()
    fully_refunded: bool = False
    raw_status: str = ""  # the platform's own status words, for the timeline
    extra: dict = field(default_factory=dict)

"""WooCommerce webhook bodies read into snapshots.

``order.created`` and ``order.updated`` carry the REST v3 order (WooCommerce builds the body by
calling its own ``/wc/v3/orders/{id}``). Quirks: the plain dates are site-local without a zone,
so only the ``*_gmt`` ones are read (UTC, no suffix); line ``price`` is a JSON number while
totals are strings; names carry HTML entities ("&ndash;"); refund totals are negative; PHP
writes an empty object as ``[]``. WooCommerce has no shipments of its own: "completed" is the
only sign that an order went out.
"""

import datetime as dt
import html

from .fields import (
    ZERO,
    body_object,
    discount_codes,
    external_id,
    first_text,
    is_digits,
    money,
    object_list,
    optional_object,
    text,
    timestamp,
    whole_number,
)
from .languages import language_from_locale
from .snapshots import CustomerSnapshot, LineSnapshot, OrderSnapshot, RefundSnapshot, ShipmentSnapshot

# meta_data keys multilingual plugins (WPML and others) store the order's language under, best first.
LANGUAGE_META_KEYS = ("wpml_language", "_wpml_language", "language")


def order_snapshot(body: dict) -> OrderSnapshot:
    """An order body (order.created, order.updated)."""
    body = body_object(body)
    order_id = external_id(body.get("id"), "id", required=True)
    status = text(body.get("status"))
    placed_at = timestamp(body.get("date_created_gmt"), "date_created_gmt", required=True)
    updated_at = timestamp(body.get("date_modified_gmt"), "date_modified_gmt")
    date_paid = timestamp(body.get("date_paid_gmt"), "date_paid_gmt")
    date_completed = timestamp(body.get("date_completed_gmt"), "date_completed_gmt")
    lines = tuple(_line(path, item) for path, item in object_list(body.get("line_items"), "line_items"))
    language = _language(body)

    paid_at = cancelled_at = None
    fulfillment = "none"
    shipments: tuple[ShipmentSnapshot, ...] = ()
    fully_refunded = False
    match status.lower():
        case "processing":  # "Payment has been received (paid), and the stock has been reduced"
            paid_at = date_paid or updated_at or placed_at
        case "completed":
            paid_at = date_paid or date_completed or updated_at or placed_at
            fulfillment = "full"
            shipments = (_completion(order_id, lines, date_completed or updated_at),)
        case "refunded":
            paid_at = date_paid
            fully_refunded = True
        case "cancelled":
            cancelled_at = updated_at or placed_at
        case _:  # pending, on-hold, failed, checkout-draft, trash, plugin statuses ("shipped", ...)
            pass

    number = text(body.get("number")) or order_id
    return OrderSnapshot(
        external_id=order_id,
        number=f"#{number}" if is_digits(number) else number,
        currency=text(body.get("currency")).upper(),
        placed_at=placed_at,
        updated_at=updated_at,
        customer=_customer(body, language),
        lines=lines,
        total=money(body.get("total"), "total"),
        shipping_total=money(body.get("shipping_total"), "shipping_total", default=ZERO),
        tax_total=money(body.get("total_tax"), "total_tax", default=ZERO),
        discount_total=money(body.get("discount_total"), "discount_total", default=ZERO),
        discount_codes=discount_codes(body.get("coupon_lines"), "coupon_lines"),
        language=language,
        paid_at=paid_at,
        cancelled_at=cancelled_at,
        fulfillment=fulfillment,
        shipments=shipments,
        refunds=tuple(_refund(path, refund) for path, refund in object_list(body.get("refunds"), "refunds")),
        fully_refunded=fully_refunded,
        raw_status=status,
    )


def _line(path: str, item: dict) -> LineSnapshot:
    product_id = item.get("product_id")
    return LineSnapshot(
        external_id=external_id(item.get("id"), f"{path}.id"),
        title=html.unescape(text(item.get("name"))),
        quantity=whole_number(item.get("quantity"), f"{path}.quantity"),
        unit_price=money(item.get("price"), f"{path}.price"),
        sku=text(item.get("sku")),
        # 0 is WooCommerce's "no product" (a deleted product or a manual line).
        product_external_id=None if product_id in (0, "0") else external_id(product_id, f"{path}.product_id"),
    )


def _refund(path: str, refund: dict) -> RefundSnapshot:
    return RefundSnapshot(
        external_id=external_id(refund.get("id"), f"{path}.id", required=True),
        amount=abs(money(refund.get("total"), f"{path}.total")),  # sent negative: "-10.00"
        note=text(refund.get("reason")),
    )


def _completion(order_id: str, lines: tuple[LineSnapshot, ...], shipped_at: dt.datetime | None) -> ShipmentSnapshot:
    """The one shipment a "completed" order implies: everything, sent when it was completed."""
    return ShipmentSnapshot(
        external_id=f"woo-{order_id}-completed",
        raw_status="completed",
        shipped_at=shipped_at,
        updated_at=shipped_at,
        line_external_ids=tuple(line.external_id for line in lines if line.external_id is not None),
    )


def _customer(body: dict, language: str) -> CustomerSnapshot | None:
    billing = optional_object(body.get("billing"), "billing")
    shipping = optional_object(body.get("shipping"), "shipping")
    customer_id = _customer_id(body.get("customer_id"))
    email = text(billing.get("email"))
    phone = first_text(billing.get("phone"), shipping.get("phone"))  # shipping.phone: newer versions only
    if customer_id is None and not email and not phone:
        return None  # a guest we could never reach

    first_name, last_name = "", ""
    for source in (billing, shipping):
        first_name, last_name = text(source.get("first_name")), text(source.get("last_name"))
        if first_name or last_name:
            break
    return CustomerSnapshot(
        external_id=customer_id,
        first_name=html.unescape(first_name),
        last_name=html.unescape(last_name),
        email=email,
        phone_text=phone,
        country=first_text(billing.get("country"), shipping.get("country")).upper(),
        language=language,
    )


def _customer_id(value: object) -> str | None:
    """A registered customer's id; 0 (and anything that is not a positive whole number) means a guest."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and is_digits(value.strip()) and int(value) > 0:
        return str(int(value))
    return None


def _language(body: dict) -> str:
    """The order's language from a multilingual plugin's meta_data entry, else ""."""
    meta = body.get("meta_data")
    values: dict[str, object] = {}
    for entry in meta if isinstance(meta, list) else ():
        if isinstance(entry, dict):
            values.setdefault(text(entry.get("key")), entry.get("value"))
    for key in LANGUAGE_META_KEYS:
        language = language_from_locale(values.get(key))
        if language:
            return language
    return ""

"""Shopify webhook bodies read into snapshots.

A webhook body is the REST resource itself (an Order for ``orders/*``, a Fulfillment for
``fulfillments/*``, a Refund for ``refunds/create``, a Dispute for ``disputes/*``), not wrapped
in a root key. Old API versions lack many newer fields, so everything optional may be absent.
Ids are 64-bit integers and are kept as text, digit for digit.
"""

import datetime as dt

from .fields import (
    ZERO,
    body_object,
    discount_codes,
    external_id,
    first_text,
    first_text_in,
    is_absent,
    money,
    object_list,
    optional_object,
    path_of,
    text,
    timestamp,
    whole_number,
)
from .languages import language_from_locale
from .snapshots import CustomerSnapshot, LineSnapshot, OrderSnapshot, RefundSnapshot, ShipmentSnapshot

CONSENT_SOURCE = "shopify checkout"
# financial_status words meaning the money was taken (partially_paid is not "paid" yet).
PAID_FINANCIAL_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})
FULFILLMENT_LEVELS = {"fulfilled": "full", "partial": "partial"}  # null, "restocked", unknown -> "none"
# Fulfillment `status` words for a fulfillment that did not (or will not) ship.
VOID_FULFILLMENT_STATUSES = frozenset({"cancelled", "error", "failure"})
# Fulfillment `shipment_status` (lower-cased FulfillmentEventStatus) -> merchant.models.Shipment.Status.
# Words not listed (buyer_action_required, ready_for_recipient_pickup, future ones) map to None.
SHIPMENT_STATUSES = {
    "label_printed": "label_created",
    "label_purchased": "label_created",
    "confirmed": "label_created",
    "in_transit": "in_transit",
    "carrier_picked_up": "in_transit",
    "picked_up": "in_transit",
    "delayed": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "ready_for_pickup": "out_for_delivery",
    "attempted_delivery": "failure",
    "failure": "failure",
    "returning_to_sender": "failure",
    "delivered": "delivered",
}


# --- Public entry points, one per webhook topic --------------------------------------------------


def order_snapshot(body: dict) -> OrderSnapshot:
    """An Order body (orders/create, orders/updated, orders/paid, orders/cancelled)."""
    body = body_object(body)
    order_id = external_id(body.get("id"), "id", required=True)
    placed_at = _placed_at(body)
    updated_at = timestamp(body.get("updated_at"), "updated_at")
    financial_status = text(body.get("financial_status"))
    fulfillment_status = text(body.get("fulfillment_status"))
    language = language_from_locale(body.get("customer_locale"))

    paid_at = None
    if financial_status.lower() in PAID_FINANCIAL_STATUSES:
        paid_at = timestamp(body.get("processed_at"), "processed_at") or updated_at or placed_at

    shipments = tuple(
        _shipment(path, fulfillment)
        for path, fulfillment in object_list(body.get("fulfillments"), "fulfillments")
        if not fulfillment_is_void(fulfillment)
    )
    extra = {}
    if text(body.get("order_status_url")):
        extra["order_status_url"] = text(body.get("order_status_url"))
    if body.get("test") is True:
        extra["test"] = True

    return OrderSnapshot(
        external_id=order_id,
        number=first_text(body.get("name"), body.get("order_number")) or order_id,
        currency=text(body.get("currency")).upper(),
        placed_at=placed_at,
        updated_at=updated_at,
        customer=_customer(body, placed_at, language),
        lines=tuple(_line(path, item) for path, item in object_list(body.get("line_items"), "line_items")),
        total=money(body.get("total_price"), "total_price"),
        shipping_total=sum(
            (
                money(line.get("price"), f"{path}.price", default=ZERO)
                for path, line in object_list(body.get("shipping_lines"), "shipping_lines")
            ),
            ZERO,
        ),
        tax_total=money(body.get("total_tax"), "total_tax", default=ZERO),
        discount_total=money(body.get("total_discounts"), "total_discounts", default=ZERO),
        discount_codes=discount_codes(body.get("discount_codes"), "discount_codes"),
        language=language,
        paid_at=paid_at,
        cancelled_at=timestamp(body.get("cancelled_at"), "cancelled_at"),
        cancel_reason=text(body.get("cancel_reason")),
        fulfillment=FULFILLMENT_LEVELS.get(fulfillment_status.lower(), "none"),
        shipments=shipments,
        refunds=tuple(_refund(path, refund) for path, refund in object_list(body.get("refunds"), "refunds")),
        fully_refunded=financial_status.lower() == "refunded",
        raw_status=(
            f"financial_status={financial_status or 'null'}, fulfillment_status={fulfillment_status or 'null'}"
        ),
        extra=extra,
    )


def fulfillment_snapshot(body: dict) -> tuple[str, ShipmentSnapshot]:
    """A Fulfillment body (fulfillments/create, fulfillments/update): (order external id, shipment).

    A cancelled or failed fulfillment still comes back as a shipment (the body names one);
    ask `fulfillment_is_void(body)` to tell it apart.
    """
    body = body_object(body)
    shipment = _shipment("", body)
    order_id = external_id(body.get("order_id"), "order_id", required=True)
    return order_id, shipment


def fulfillment_is_void(body: dict) -> bool:
    """Whether a Fulfillment's `status` says it did not ship: cancelled, error or failure."""
    return isinstance(body, dict) and text(body.get("status")).lower() in VOID_FULFILLMENT_STATUSES


def refund_snapshot(body: dict) -> tuple[str, RefundSnapshot]:
    """A Refund body (refunds/create): (order external id, refund)."""
    body = body_object(body)
    refund = _refund("", body)
    order_id = external_id(body.get("order_id"), "order_id", required=True)
    return order_id, refund


def dispute_summary(body: dict) -> dict:
    """A Dispute body (disputes/create, disputes/update) as plain text values (None when absent).

    `order_id` is often null (chargebacks Shopify could not tie to an order). `amount` is the
    decimal text ("100.00"); `evidence_due_by` is ISO 8601 in UTC.
    """
    body = body_object(body)
    dispute_id = external_id(body.get("id"), "id", required=True)
    evidence_due_by = timestamp(body.get("evidence_due_by"), "evidence_due_by")
    amount = None if is_absent(body.get("amount")) else str(money(body.get("amount"), "amount"))
    return {
        "external_id": dispute_id,
        "order_external_id": external_id(body.get("order_id"), "order_id"),
        "type": text(body.get("type")) or None,
        "reason": text(body.get("reason")) or None,
        "status": text(body.get("status")) or None,
        "amount": amount,
        "currency": text(body.get("currency")).upper() or None,
        "evidence_due_by": evidence_due_by.isoformat() if evidence_due_by else None,
    }


# --- Parts ---------------------------------------------------------------------------------------


def _placed_at(body: dict) -> dt.datetime:
    if not is_absent(body.get("created_at")) or is_absent(body.get("processed_at")):
        return timestamp(body.get("created_at"), "created_at", required=True)
    return timestamp(body.get("processed_at"), "processed_at", required=True)


def _line(path: str, item: dict) -> LineSnapshot:
    return LineSnapshot(
        external_id=external_id(item.get("id"), f"{path}.id"),
        title=first_text(item.get("name"), item.get("title")),
        quantity=whole_number(item.get("quantity"), f"{path}.quantity"),
        unit_price=money(item.get("price"), f"{path}.price"),
        sku=text(item.get("sku")),
        product_external_id=external_id(item.get("product_id"), f"{path}.product_id"),
    )


def _shipment(path: str, fulfillment: dict) -> ShipmentSnapshot:
    """One Fulfillment, from a fulfillments/* body (path "") or an order's `fulfillments[i]`."""
    shipment_id = external_id(fulfillment.get("id"), path_of(path, "id"), required=True)
    word = text(fulfillment.get("shipment_status"))
    line_ids = (
        external_id(item.get("id"), f"{item_path}.id")
        for item_path, item in object_list(fulfillment.get("line_items"), path_of(path, "line_items"))
    )
    return ShipmentSnapshot(
        external_id=shipment_id,
        carrier=text(fulfillment.get("tracking_company")),
        tracking_number=text(fulfillment.get("tracking_number")) or first_text_in(fulfillment.get("tracking_numbers")),
        tracking_url=text(fulfillment.get("tracking_url")) or first_text_in(fulfillment.get("tracking_urls")),
        status=SHIPMENT_STATUSES.get(word.lower()),
        raw_status=word,
        shipped_at=timestamp(fulfillment.get("created_at"), path_of(path, "created_at")),
        updated_at=timestamp(fulfillment.get("updated_at"), path_of(path, "updated_at")),
        line_external_ids=tuple(line_id for line_id in line_ids if line_id is not None),
    )


def _refund(path: str, refund: dict) -> RefundSnapshot:
    """One Refund, from a refunds/create body (path "") or an order's `refunds[i]`.

    The amount is what successful refund transactions moved; a refund without any (old or
    trimmed bodies) falls back to its line subtotals, else 0.
    """
    refund_id = external_id(refund.get("id"), path_of(path, "id"), required=True)
    amount = ZERO
    counted = False
    for transaction_path, transaction in object_list(refund.get("transactions"), path_of(path, "transactions")):
        if text(transaction.get("kind")).lower() == "refund" and text(transaction.get("status")).lower() == "success":
            amount += money(transaction.get("amount"), f"{transaction_path}.amount")
            counted = True
    if not counted:
        for line_path, line in object_list(refund.get("refund_line_items"), path_of(path, "refund_line_items")):
            amount += money(line.get("subtotal"), f"{line_path}.subtotal", default=ZERO)
    refunded_at = timestamp(refund.get("created_at"), path_of(path, "created_at")) or timestamp(
        refund.get("processed_at"), path_of(path, "processed_at")
    )
    return RefundSnapshot(external_id=refund_id, amount=amount, refunded_at=refunded_at, note=text(refund.get("note")))


def _customer(body: dict, placed_at: dt.datetime, language: str) -> CustomerSnapshot | None:
    """The buyer: the `customer` object when there is one, else a guest from the order's own fields."""
    customer = optional_object(body.get("customer"), "customer")
    shipping = optional_object(body.get("shipping_address"), "shipping_address")
    billing = optional_object(body.get("billing_address"), "billing_address")
    default_address = optional_object(customer.get("default_address"), "customer.default_address")

    customer_id = external_id(customer.get("id"), "customer.id")
    email = first_text(customer.get("email"), body.get("email"), body.get("contact_email"))
    phone = first_text(customer.get("phone"), body.get("phone"), shipping.get("phone"), billing.get("phone"))
    if customer_id is None and not email and not phone:
        return None  # a guest we could never reach

    first_name, last_name = "", ""
    for source in (customer, shipping, billing, default_address):
        first_name, last_name = text(source.get("first_name")), text(source.get("last_name"))
        if first_name or last_name:
            break

    email_consent_at = _email_consent_at(body, customer, placed_at)
    sms_consent_at = _subscribed_at(customer, "sms_marketing_consent", placed_at)
    return CustomerSnapshot(
        external_id=customer_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone_text=phone,
        country=first_text(
            shipping.get("country_code"), billing.get("country_code"), default_address.get("country_code")
        ).upper(),
        language=language,
        email_marketing_consent_at=email_consent_at,
        sms_marketing_consent_at=sms_consent_at,
        consent_source=CONSENT_SOURCE if email_consent_at or sms_consent_at else "",
    )


def _email_consent_at(body: dict, customer: dict, placed_at: dt.datetime) -> dt.datetime | None:
    # The customer's current consent state wins over the checkout box: someone who ticked it and
    # unsubscribed since must not count as consenting when a later orders/updated arrives.
    state = optional_object(customer.get("email_marketing_consent"), "customer.email_marketing_consent")
    if text(state.get("state")):
        return _subscribed_at(customer, "email_marketing_consent", placed_at)
    if body.get("buyer_accepts_marketing") is True:
        return placed_at
    return None


def _subscribed_at(customer: dict, key: str, placed_at: dt.datetime) -> dt.datetime | None:
    path = f"customer.{key}"
    consent = optional_object(customer.get(key), path)
    if text(consent.get("state")).lower() != "subscribed":
        return None
    return timestamp(consent.get("consent_updated_at"), f"{path}.consent_updated_at") or placed_at

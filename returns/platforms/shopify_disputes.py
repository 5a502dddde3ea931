"""Shopify Payments disputes: their words mapped onto ours, and the `disputes/create|update` webhook handler.

`merchant.platforms.shopify.dispute_summary` reads the body; this module says what Shopify's `status`,
`type` and `reason` mean for a provider-neutral Dispute, and hands the delivery to
`returns.services.disputes.dispute_open_or_update_from_provider`. The handler replaces merchant's
(registered again for the same topics from `returns.wiring.disputes_wire`) and keeps what merchant's did:
a note on the order's timeline, and the summary as the event's result.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from merchant.actors import Actor
from merchant.models import InboundEvent, Order
from merchant.platforms import shopify
from merchant.platforms.fields import timestamp
from merchant.services.inbound import Outcome, handles
from merchant.services.orders import order_note_add
from returns.models import Dispute

TOPICS = ("disputes/create", "disputes/update")
S = Dispute.Status
R = Dispute.ReasonCategory

# Shopify `status` -> our status, for a chargeback and for an inquiry (type "inquiry": nothing debited yet).
CHARGEBACK_STATUSES: dict[str, str] = {
    "needs_response": S.NEEDS_RESPONSE,
    "under_review": S.SUBMITTED,
    "charge_refunded": S.SETTLED,
    "accepted": S.ACCEPTED,
    "won": S.WON,
    "lost": S.LOST,
}
INQUIRY_STATUSES: dict[str, str] = {
    **CHARGEBACK_STATUSES,
    "needs_response": S.INQUIRY_OPEN,
    # An inquiry "won" closed without a chargeback.
    "won": S.INQUIRY_CLOSED,
}

# Shopify (Stripe) `reason` -> our reason category. Anything else (general, customer_initiated,
# bank_cannot_process, incorrect_account_details, insufficient_funds, noncompliant, new words) is "other".
REASONS: dict[str, str] = {
    "fraudulent": R.FRAUDULENT,
    "unrecognized": R.FRAUDULENT,
    "debit_not_authorized": R.FRAUDULENT,
    "product_not_received": R.NOT_RECEIVED,
    "product_unacceptable": R.NOT_AS_DESCRIBED,
    "duplicate": R.DUPLICATE,
    "credit_not_processed": R.CREDIT_NOT_PROCESSED,
    "subscription_canceled": R.SUBSCRIPTION,
}


def dispute_kind(shopify_type: str | None) -> str:
    return "inquiry" if (shopify_type or "").lower() == "inquiry" else "chargeback"


def dispute_status(shopify_status: str | None, *, kind: str) -> str | None:
    """Our status for Shopify's, or None for a word we do not know (the raw word is kept anyway)."""
    table = INQUIRY_STATUSES if kind == "inquiry" else CHARGEBACK_STATUSES
    return table.get((shopify_status or "").lower())


def reason_category(shopify_reason: str | None) -> str:
    return REASONS.get((shopify_reason or "").lower(), R.OTHER)


def _time(value: str | None) -> dt.datetime | None:
    return parse_datetime(value) if value else None


def shopify_dispute_handle(event: InboundEvent, body: Any) -> Outcome:
    """A Shopify Payments dispute, stored (with or without its order) and put in the support queue."""
    from returns.services.disputes import dispute_open_or_update_from_provider

    summary = shopify.dispute_summary(body)
    raw = body if isinstance(body, dict) else {}
    kind = dispute_kind(summary["type"])
    order_id = summary.get("order_external_id")
    order = Order.objects.filter(shop=event.shop, external_id=order_id).first() if order_id else None
    actor = Actor.webhook(f"{event.source} {event.topic}")
    synced = dispute_open_or_update_from_provider(
        shop=event.shop,
        provider=Dispute.Provider.SHOPIFY,
        external_id=summary["external_id"],
        kind=kind,
        provider_status=summary["status"] or "",
        status=dispute_status(summary["status"], kind=kind),
        provider_reason=summary["reason"] or "",
        reason_category=reason_category(summary["reason"]),
        network_reason_code=str(raw.get("network_reason_code") or "")[:20],
        amount=Decimal(summary["amount"]) if summary["amount"] else None,
        currency=summary["currency"] or "",
        due_at=_time(summary["evidence_due_by"]),
        opened_at=timestamp(raw.get("initiated_at"), "initiated_at"),
        submitted_at=timestamp(raw.get("evidence_sent_on"), "evidence_sent_on"),
        finalized_at=timestamp(raw.get("finalized_on"), "finalized_on"),
        order=order,
        actor=actor,
        received_at=event.received_at,
    )
    if order is not None:
        # The order's timeline says a dispute exists (as before returns took the webhook over).
        words = ", ".join(str(summary[key]) for key in ("type", "reason", "status") if summary.get(key))
        order_note_add(order=order, actor=actor, text=f"Payment dispute: {words}")
    result = {
        **summary,
        "dispute": synced.dispute.pk,
        "dispute_status": synced.dispute.status,
        "created": synced.created,
        "stale": synced.stale,
    }
    return Outcome(order=order, result=result)


def shopify_disputes_register() -> None:
    """Take Shopify's dispute topics over from merchant's handler. Idempotent."""
    handles("shopify", *TOPICS)(shopify_dispute_handle)

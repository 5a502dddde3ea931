"""The evidence packet of a dispute: everything on file about its order and customer, gathered for an agent.

Providers decide on what the shop can show: that the order was paid and shipped, where and when it was
delivered, what the customer was told and when, what they answered, and what happened with any return
or refund. `dispute_packet` gathers it from the records the back-office already holds (no typing), plus
what an agent added (`DisputeEvidence`), with a checklist per reason category saying what a provider
expects for it and whether the packet has it. A fixed number of queries, whatever the order's size.

The packet is plain JSON-ready data (times as aware datetimes until `packet_json` turns them into ISO
text), so the same structure is shown in the admin, staged into `Dispute.staged_packet`, and printed.
"""

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from journeys.models import InboundSms, Message
from merchant.models import OrderEvent
from returns.models import CaseEntry, Dispute, DisputeEvidence, Refund, ReturnRequest

R = Dispute.ReasonCategory
PACKET_VERSION = 1


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: Any  # lazy text
    hint: Any


# What a provider looks for, per reason category (Stripe's and PayPal's guidance, in our words).
CHECKS: dict[str, ChecklistItem] = {
    "order": ChecklistItem("order", _("Order details and items"), _("What was bought, for how much, and when.")),
    "payment": ChecklistItem("payment", _("Payment record"), _("When the payment was taken, amount and currency.")),
    "shipment": ChecklistItem(
        "shipment", _("Shipment with carrier and tracking number"), _("Which carrier took the parcel, and its number.")
    ),
    "delivery": ChecklistItem(
        "delivery", _("Proof of delivery"), _("The carrier's delivery time (and address or signature, if you have it).")
    ),
    "communication": ChecklistItem(
        "communication", _("Messages to the customer"), _("What the customer was told and when it reached them.")
    ),
    "customer_replies": ChecklistItem(
        "customer_replies", _("The customer's own words"), _("Replies that show they knew of the order or got it.")
    ),
    "returns": ChecklistItem(
        "returns", _("Return records"), _("Whether a return was asked for, received, and what was decided.")
    ),
    "refunds": ChecklistItem(
        "refunds", _("Refund records with reference"), _("Any refund already made, with its date and reference.")
    ),
    "agent_evidence": ChecklistItem(
        "agent_evidence",
        _("Your own documents"),
        _("Policy pages, product description, photos, signed receipts: add them as evidence."),
    ),
    "response": ChecklistItem(
        "response", _("Your written answer"), _("A short explanation of why the charge is valid, in plain words.")
    ),
}
CHECKLISTS: dict[str, tuple[str, ...]] = {
    R.NOT_RECEIVED: ("order", "payment", "shipment", "delivery", "communication", "customer_replies", "response"),
    R.NOT_AS_DESCRIBED: ("order", "payment", "delivery", "communication", "returns", "agent_evidence", "response"),
    R.FRAUDULENT: ("order", "payment", "delivery", "communication", "customer_replies", "agent_evidence", "response"),
    R.DUPLICATE: ("order", "payment", "refunds", "agent_evidence", "response"),
    R.CREDIT_NOT_PROCESSED: ("order", "payment", "returns", "refunds", "communication", "response"),
    R.SUBSCRIPTION: ("order", "payment", "communication", "agent_evidence", "response"),
    R.OTHER: ("order", "payment", "shipment", "delivery", "communication", "response"),
}


def _order_part(order) -> dict | None:
    if order is None:
        return None
    return {
        "number": order.number,
        "status": order.get_status_display(),
        "placed_at": order.placed_at,
        "currency": order.currency,
        "subtotal": order.subtotal,
        "shipping_total": order.shipping_total,
        "tax_total": order.tax_total,
        "discount_total": order.discount_total,
        "total": order.total,
        "refunded_total": order.refunded_total,
        "lines": [
            {"title": line.title, "sku": line.sku, "quantity": line.quantity, "total": line.total}
            for line in order.lines.all()
        ],
    }


def _customer_part(customer) -> dict | None:
    if customer is None:
        return None
    return {
        "name": " ".join(part for part in (customer.first_name, customer.last_name) if part),
        "email": customer.email,
        "phone": str(customer.phone or "") if hasattr(customer, "phone") else "",
    }


def _messages(order, customer) -> list[dict]:
    """Every message that went out to the customer about the order (or to them, without an order)."""
    if order is None and customer is None:
        return []
    sent = Message.objects.filter(sent_at__isnull=False)
    sent = sent.filter(order=order) if order is not None else sent.filter(customer=customer, order=None)
    return [
        {
            "trigger": message.trigger,
            "channel": message.channel,
            "address": message.address,
            "status": message.get_status_display(),
            "sent_at": message.sent_at,
            "delivered_at": message.delivered_at,
            "opened_at": message.opened_at,
            "subject": message.subject,
            "body": message.body,
        }
        for message in sent.order_by("sent_at", "id")
    ]


def _customer_replies(order, customer, case_ids: list[int]) -> list[dict]:
    replies: list[dict] = []
    if customer is not None:
        since = order.placed_at if order is not None else None
        texts = InboundSms.objects.filter(customer=customer)
        if since is not None:
            texts = texts.filter(received_at__gte=since)
        replies += [
            {"channel": "sms", "at": sms.received_at, "body": sms.body, "from": sms.from_number}
            for sms in texts.order_by("received_at", "id")
        ]
    if case_ids:
        entries = CaseEntry.objects.filter(case_id__in=case_ids, kind=CaseEntry.Kind.CUSTOMER_MESSAGE)
        replies += [
            {"channel": entry.channel or "case", "at": entry.at, "body": entry.body, "from": ""}
            for entry in entries.order_by("at", "id")
        ]
    # An SMS reply also lands on the case: show it once.
    seen, unique = set(), []
    for reply in sorted(replies, key=lambda reply: reply["at"]):
        key = (reply["at"], reply["body"])
        if key not in seen:
            seen.add(key)
            unique.append(reply)
    return unique


def _returns(order) -> list[dict]:
    if order is None:
        return []
    requests = ReturnRequest.objects.filter(order=order).prefetch_related("events").order_by("created_at", "id")
    return [
        {
            "number": request.number,
            "status": request.get_status_display(),
            "reason": request.get_reason_display(),
            "comment": request.comment,
            "requested_at": request.created_at,
            "return_tracking_number": request.return_tracking_number,
            "received_at": request.received_at,
            "closed_at": request.closed_at,
            "events": [
                {"at": event.at, "what": event.to_status or event.action, "by": event.actor_label, "note": event.note}
                for event in request.events.all()
            ],
        }
        for request in requests
    ]


def _refunds(order) -> list[dict]:
    """Money returned, from the order's timeline (every refund, made here or on the shop platform, lands
    there with its reference), then refunds of the returns workflow still on their way."""
    if order is None:
        return []
    made = OrderEvent.objects.filter(
        order=order,
        type__in=[OrderEvent.Type.REFUNDED, OrderEvent.Type.PARTIALLY_REFUNDED],
        outcome=OrderEvent.Outcome.APPLIED,
    )
    rows = [
        {
            "amount": event.details.get("amount", ""),
            "currency": event.details.get("currency") or order.currency,
            "status": event.get_type_display(),
            "reference": event.details.get("refund_reference", ""),
            "at": event.occurred_at,
        }
        for event in made.order_by("occurred_at", "id")
    ]
    on_the_way = Refund.objects.filter(order=order, status__in=Refund.COMMITTED - {Refund.Status.SUCCEEDED}).order_by(
        "created_at", "id"
    )
    rows += [
        {
            "amount": refund.amount,
            "currency": refund.currency,
            "status": refund.get_status_display(),
            "reference": refund.reference,
            "at": refund.created_at,
        }
        for refund in on_the_way
    ]
    return rows


def dispute_packet(*, dispute: Dispute) -> dict:
    """Everything on file for `dispute`, section by section, with its checklist (see the module docstring)."""
    order = dispute.order
    if order is not None:
        order = type(order).objects.prefetch_related("lines", "shipments").get(pk=order.pk)
    customer = dispute.customer or (order.customer if order is not None else None)
    case_ids = _case_ids(dispute=dispute, order=order)
    agent_evidence = [
        {
            "id": item.pk,
            "title": item.title,
            "text": item.text,
            "file": item.file.name.rsplit("/", 1)[-1] if item.file else "",
            "added_by": item.added_by.get_username() if item.added_by else "",
            "at": item.created_at,
        }
        for item in DisputeEvidence.objects.filter(dispute=dispute).select_related("added_by")
    ]
    shipments = (
        [
            {
                "carrier": parcel.carrier,
                "tracking_number": parcel.tracking_number,
                "tracking_url": parcel.tracking_url,
                "status": parcel.get_status_display(),
                "shipped_at": parcel.shipped_at,
                "delivered_at": parcel.delivered_at,
                "last_carrier_event_at": parcel.last_carrier_event_at,
            }
            for parcel in sorted(order.shipments.all(), key=lambda parcel: (parcel.shipped_at, parcel.pk))
        ]
        if order is not None
        else []
    )
    packet = {
        "version": PACKET_VERSION,
        "dispute": {
            "provider": dispute.get_provider_display(),
            "external_id": dispute.external_id or "",
            "kind": dispute.kind,
            "reason": dispute.get_reason_category_display(),
            "provider_reason": dispute.provider_reason,
            "network_reason_code": dispute.network_reason_code,
            "amount": dispute.amount,
            "currency": dispute.currency,
            "opened_at": dispute.opened_at,
            "due_at": dispute.due_at,
        },
        "shop": {"name": dispute.shop.name, "contact_email": dispute.shop.contact_email},
        "customer": _customer_part(customer),
        "order": _order_part(order),
        "payment": (
            {"paid_at": order.paid_at, "total": order.total, "currency": order.currency}
            if order is not None and order.paid_at
            else None
        ),
        "shipments": shipments,
        "delivered_at": order.delivered_at if order is not None else None,
        "messages": _messages(order, customer),
        "customer_replies": _customer_replies(order, customer, case_ids),
        "returns": _returns(order),
        "refunds": _refunds(order),
        "agent_evidence": agent_evidence,
        "response_text": dispute.response_text,
    }
    packet["checklist"] = evidence_checklist(reason_category=dispute.reason_category, packet=packet)
    return packet


def _case_ids(*, dispute: Dispute, order) -> list[int]:
    from returns.models import Case, CaseItem

    ids = set(CaseItem.objects.filter(dispute=dispute).values_list("case_id", flat=True))
    if order is not None:
        ids |= set(Case.objects.filter(order=order).values_list("pk", flat=True))
    return sorted(ids)


def _present(key: str, packet: dict) -> bool:
    if key == "order":
        return packet["order"] is not None
    if key == "payment":
        return packet["payment"] is not None
    if key == "shipment":
        return any(parcel["tracking_number"] for parcel in packet["shipments"])
    if key == "delivery":
        return bool(packet["delivered_at"]) or any(parcel["delivered_at"] for parcel in packet["shipments"])
    if key == "communication":
        return bool(packet["messages"])
    if key == "response":
        return bool((packet.get("response_text") or "").strip())
    return bool(packet[key])


def evidence_checklist(*, reason_category: str, packet: dict) -> list[dict]:
    """What providers expect for `reason_category`, each with whether the packet has it."""
    keys = CHECKLISTS.get(reason_category, CHECKLISTS[R.OTHER])
    return [
        {"key": key, "label": str(CHECKS[key].label), "hint": str(CHECKS[key].hint), "present": _present(key, packet)}
        for key in keys
    ]


def packet_json(packet: dict) -> dict:
    """The packet as JSON data (times as ISO 8601 UTC text, money as decimal text), to keep as staged."""
    return json.loads(json.dumps(packet, cls=DjangoJSONEncoder))


def _local(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(zone)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        parsed = parse_datetime(value)
        return parsed.astimezone(zone) if parsed and parsed.tzinfo else value
    return value


def packet_localized(packet: dict, *, time_zone: str) -> dict:
    """A copy of `packet` (live or staged) with every time as an aware datetime in the shop's zone, to show."""
    zone = ZoneInfo(time_zone or "UTC")

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {name: walk(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [walk(item, key) for item in value]
        return _local(value, zone) if key.endswith("_at") or key == "at" else value

    return walk(packet)

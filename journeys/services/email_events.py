"""Email events from the ESP (through django-anymail): stored first, then applied to the message, forward only.

`email_event_receive` runs inside anymail's webhook request: it finds the message the event is
about and stores the event as a `merchant.InboundEvent` (source `anymail`, topic = anymail's
event type), deduplicated on the ESP's event id. The inbound drainer then applies it through
`email_event_apply`, like every other inbound delivery; a failure is kept on the event for a retry.

What an event does (each only moves the message forward along `Message.TRANSITIONS`):

- delivered, opened, clicked, complained: the message reached the mailbox, so a sent message
  becomes delivered; `delivered_at`, `opened_at`, `clicked_at` keep the earliest time reported.
- bounced (hard), rejected, failed: a sent message becomes failed with the ESP's description.
  A bounce after "delivered" (a late asynchronous bounce) leaves the status as it is.
- deferred: the ESP keeps trying; nothing changes.
- hard bounces, complaints, unsubscribes and rejections for a bad or suppressed address stop
  every further email to that address: each customer of the shop with that email is opted out
  of email (`consent_record`, with the ESP's words as evidence).

An event can come before the dispatcher has recorded the ESP's answer (the message is still
`sending`). One that would move the message (delivered, opened, bounced...) is then kept
`waiting` for the ESP's message id and applied once the dispatcher has recorded it, so a late
"sent" never hides a delivery; others (an unsubscribe) apply at once. An event about no message
of ours (mail sent outside the outbox, an ESP account shared with another system) is stored
without a shop, visible to superusers, and ignored.
"""

import datetime as dt
import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from journeys.models import Channel, ConsentRecord, Message
from journeys.providers.email import METADATA_KEY
from journeys.services.consent import consent_record
from merchant.exceptions import ApplicationError
from merchant.models import Customer, InboundEvent
from merchant.services.inbound import EventMustWait, IgnoreEvent, Outcome, handles, inbound_event_receive

Status = Message.Status
Reason = Message.Reason

# Event types that prove the email reached the mailbox, and the timestamp each one sets.
REACHED = {"delivered": "delivered_at", "opened": "opened_at", "clicked": "clicked_at", "complained": None}
FAILURES = frozenset({"bounced", "rejected", "failed"})
# Why an address gets no more email: the consent record's source, by event type or reject reason.
STOP_BY_EVENT = {"bounced": "email_bounce", "complained": "email_complaint", "unsubscribed": "email_unsubscribe"}
STOP_BY_REJECT_REASON = {
    "invalid": "email_bounce",
    "bounced": "email_bounce",
    "spam": "email_complaint",
    "unsubscribed": "email_unsubscribe",
}
FAILURE_REASONS = {
    "invalid": Reason.INVALID_ADDRESS,
    "bounced": Reason.INVALID_ADDRESS,
    "spam": Reason.OPTED_OUT,
    "unsubscribed": Reason.OPTED_OUT,
}
# anymail reports these as "bounced", but the mailbox may work tomorrow (full, over quota).
SOFT_BOUNCES = {("Postmark", "SoftBounce")}
APPLIED = frozenset({*REACHED, *FAILURES, "unsubscribed", "deferred"})


# --- receiving -------------------------------------------------------------------------------------


def email_event_message(*, esp_message_id: str | None, metadata: dict | None) -> Message | None:
    """The email an ESP event is about: by the ESP's message id, else by the id we sent as metadata."""
    if esp_message_id:
        found = Message.objects.filter(channel=Channel.EMAIL, provider_message_id=esp_message_id[:100]).first()
        if found is not None:
            return found
    ours = str((metadata or {}).get(METADATA_KEY, ""))
    if ours.isdigit():
        return Message.objects.filter(pk=int(ours), channel=Channel.EMAIL).first()
    return None


def _hard_bounce(event: Any, esp_name: str) -> bool:
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    return event.event_type == "bounced" and (esp_name, esp_event.get("Type")) not in SOFT_BOUNCES


def _raw(esp_event: Any) -> Any:
    # JSON ESPs give a dict or list; form-posting ones a QueryDict (kept with every value).
    return dict(esp_event.lists()) if hasattr(esp_event, "lists") else esp_event


def email_event_receive(*, event: Any, esp_name: str) -> InboundEvent:
    """Store one anymail tracking event with the shop of the message it is about (none for no message of ours).

    Guarantees: the event is committed before anything is applied; the same ESP event (same
    event id, or the same raw payload when the ESP gives none) is stored once as received and
    then only as a duplicate, so it is applied once. Only events anymail verified get here
    (the webhooks answer 403 until a webhook secret is set).
    """
    message = email_event_message(esp_message_id=event.message_id, metadata=event.metadata)
    raw = _raw(event.esp_event)
    body = {
        "esp": esp_name,
        "event_type": event.event_type,
        "event_id": event.event_id,
        "message_id": event.message_id,
        "journeys_message": message.pk if message else None,
        "recipient": event.recipient,
        "timestamp": event.timestamp.isoformat() if event.timestamp else None,
        "reject_reason": event.reject_reason,
        "hard_bounce": _hard_bounce(event, esp_name),
        "description": event.description,
        "mta_response": event.mta_response,
        "click_url": event.click_url,
        "tags": event.tags,
        "metadata": event.metadata,
        "esp_event": raw,
    }
    payload_hash = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return inbound_event_receive(
        shop=message.shop if message else None,
        source=InboundEvent.Source.ANYMAIL,
        topic=event.event_type or "unknown",
        body=json.dumps(body, default=str).encode(),
        delivery_id=str(event.event_id or ""),
        dedupe_keys=(
            f"anymail:{esp_name}:{event.event_id}" if event.event_id else "",
            f"anymail:{esp_name}:payload:{payload_hash}",
        ),
    )


def email_tracking_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Receiver of `anymail.signals.tracking` (connected in JourneysConfig.ready)."""
    email_event_receive(event=event, esp_name=esp_name)


# --- applying --------------------------------------------------------------------------------------


@transaction.atomic
def email_event_apply(
    *,
    message: Message,
    event_type: str,
    at: dt.datetime,
    recipient: str = "",
    reject_reason: str = "",
    description: str = "",
    hard_bounce: bool = True,
    actor: str = "",
) -> dict[str, Any]:
    """Apply one ESP event to `message` and its address. Returns what changed, for the event's record.

    Guarantees: the message only moves forward along `Message.TRANSITIONS` (a late event never
    moves it back); each timestamp keeps the earliest time reported; a message still being sent keeps its
    status; when the event says the address must get no more email, every customer of the
    message's shop with that address is opted out of email, with evidence.
    """
    locked = Message.objects.select_for_update().get(pk=message.pk)
    before = locked.status
    changes: dict[str, Any] = {}
    handed_over = before not in Message.OPEN  # the dispatcher owns scheduled and sending rows

    def move(status: str) -> bool:
        if handed_over and status in Message.TRANSITIONS[locked.status]:
            changes["status"] = status
            changes["finished_at"] = locked.finished_at or at
            return True
        return False

    if event_type in REACHED:
        for name in ("delivered_at", REACHED[event_type]):
            # The earliest time wins: an open seen before its delivery event sets delivered_at, and
            # the delivery event, when it comes, can only make it earlier.
            if name and (getattr(locked, name) is None or at < getattr(locked, name)):
                changes[name] = at
        move(Status.DELIVERED)
    elif event_type in FAILURES and (event_type != "bounced" or hard_bounce) and move(Status.FAILED):
        changes["reason"] = FAILURE_REASONS.get(reject_reason, "")
        changes["error_code"] = (reject_reason or event_type)[:40]
        changes["error"] = description or event_type
    for name, value in changes.items():
        setattr(locked, name, value)
    if changes:
        locked.save(update_fields=[*changes, "updated_at"])

    stop_source = STOP_BY_EVENT.get(event_type) if event_type != "bounced" or hard_bounce else None
    if event_type in ("rejected", "failed"):
        stop_source = STOP_BY_REJECT_REASON.get(reject_reason)
    address = recipient or locked.address
    opted_out = []
    if stop_source and address:
        opted_out = email_address_opt_out(
            shop_id=locked.shop_id,
            email=address,
            source=stop_source,
            wording=f"{event_type}: {description}".strip(": ")[:1000],
            actor=actor,
            message=locked,
        )
    return {
        "message": locked.pk,
        "status": before if before == locked.status else f"{before} → {locked.status}",
        "changed": sorted(changes),
        "opted_out": opted_out,
    }


def email_address_opt_out(
    *, shop_id: int, email: str, source: str, wording: str, actor: str, message: Message | None
) -> list[int]:
    """Opt every customer of the shop with `email` out of email. Returns their ids."""
    customers = list(Customer.objects.filter(shop_id=shop_id, email__iexact=email.strip()).order_by("id"))
    for customer in customers:
        consent_record(
            customer=customer,
            channel=Channel.EMAIL,
            action=ConsentRecord.Action.OPTED_OUT,
            source=source,
            wording=wording,
            actor=actor,
            message=message,
        )
    return [customer.pk for customer in customers]


def _stored_message(event: InboundEvent, body: Any) -> Message:
    if body.get("journeys_message") is not None:
        message = Message.objects.filter(pk=body["journeys_message"], shop=event.shop).first()
        if message is None:
            raise ApplicationError(f"Message {body['journeys_message']} no longer exists.")
        return message
    # Stored about no message of ours: the dispatcher may have recorded the ESP's id since.
    message = email_event_message(esp_message_id=body.get("message_id"), metadata=body.get("metadata"))
    if message is None:
        raise IgnoreEvent(
            f"No email of ours has ESP message id {body.get('message_id') or '?'} (mail sent outside the "
            "outbox, or an ESP account shared with another system); kept as evidence only."
        )
    return message


@handles(InboundEvent.Source.ANYMAIL, *sorted(APPLIED))
def _apply_stored(event: InboundEvent, body: Any) -> Outcome:
    message = _stored_message(event, body)
    event_type = body.get("event_type", "")
    if message.status == Status.SENDING and (event_type in REACHED or event_type in FAILURES):
        raise EventMustWait(
            f"Message {message.pk} was still being sent; this {event_type} event is applied once the send is recorded.",
            waiting_for=str(body.get("message_id") or "")[:100],
        )
    at = parse_datetime(body.get("timestamp") or "") or timezone.now()
    if event_type == "deferred":
        return Outcome(
            order=message.order,
            result={"message": message.pk, "note": "deferred: the ESP tries again"},
            shop=message.shop,
        )
    result = email_event_apply(
        message=message,
        event_type=body.get("event_type", ""),
        at=at,
        recipient=body.get("recipient") or "",
        reject_reason=body.get("reject_reason") or "",
        description=body.get("description") or body.get("mta_response") or "",
        hard_bounce=bool(body.get("hard_bounce", True)),
        actor=f"{body.get('esp', 'ESP')} webhook",
    )
    return Outcome(order=message.order, result=result, shop=message.shop)

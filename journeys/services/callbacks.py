"""Delivery reports from providers. A message only moves forward, and what a report says about the
recipient (opted out at the provider, a number that can never take texts) is recorded.

Twilio reports arrive as `merchant.InboundEvent`s (source "twilio", topic "message.status"),
stored by the webhook before this handler applies them. Reports come twice and out of order;
`Message.TRANSITIONS` decides: a late "sent" after "delivered" changes nothing, and so does a
"failed" after "delivered" (the customer had the text; carriers report such late failures for
parts of long messages, and the outbox keeps what the customer saw).

A report can come before the dispatcher has recorded the send (Twilio calls back while the
dispatcher is still writing the batch's outcomes): the event is kept `waiting` for the message's
sid and applied once the dispatcher has recorded it (`inbound_events_waiting_apply`, called after
every batch; the minute sweep catches what that missed). A report about no SMS of ours (an
account shared with another system) is stored and ignored; signed by the settings account, it is
kept without a shop, visible to superusers only.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import Channel, ConsentRecord, Message
from journeys.providers.twilio_webhooks import (
    CALLBACK_STATUSES,
    CODE_UNSUBSCRIBED,
    ERROR_MEANINGS,
    UNUSABLE_NUMBER_CODES,
)
from journeys.services.consent import consent_record
from merchant.exceptions import ApplicationError
from merchant.models import InboundEvent
from merchant.services.customers import customer_phone_flag
from merchant.services.inbound import EventMustWait, IgnoreEvent, Outcome, form_body, handles

Status = Message.Status
Reason = Message.Reason
TOPIC_STATUS = "message.status"
# The URL Twilio signed is kept with the event: it names our message (?message_id=) and lets
# anybody check the stored signature again.
SIGNED_URL_HEADER = "Request-URL"


class MessageStillSending(ApplicationError):
    """The report came before the dispatcher recorded the send; it is applied again afterwards."""


@dataclass(frozen=True)
class StatusReport:
    status: str  # a Message.Status the provider reports
    provider_message_id: str = ""
    error_code: str = ""
    error: str = ""
    reason: str = ""  # a Message.Reason for a failure, when the code says why
    at: dt.datetime | None = None


@transaction.atomic
def message_status_report(*, message: Message, report: StatusReport) -> tuple[Message, bool]:
    """Apply a provider's delivery report to `message`. Returns (message, whether it changed).

    Guarantees: the row is locked first; the status moves only along `Message.TRANSITIONS`
    (a repeat or an older report changes nothing); a message the dispatcher is still sending
    raises `MessageStillSending` and is untouched, because the dispatcher's own record of the
    send must land first.
    """
    at = report.at or timezone.now()
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.status == Status.SENDING:
        raise MessageStillSending(
            _("Message %d was still being sent; this report is applied again once the send is recorded.") % locked.pk
        )
    if report.status == locked.status or report.status not in Message.TRANSITIONS[locked.status]:
        return locked, False
    changes: dict[str, Any] = {"status": report.status}
    if report.provider_message_id and not locked.provider_message_id:
        changes["provider_message_id"] = report.provider_message_id
    if report.status == Status.SENT and not locked.sent_at:
        changes["sent_at"] = at
    elif report.status == Status.DELIVERED:
        changes["delivered_at"] = at
        changes["sent_at"] = locked.sent_at or at
    elif report.status == Status.FAILED:
        words = _("The provider reports it was not delivered")
        if report.error_code:
            words += f" ({report.error_code}: {report.error})" if report.error else f" ({report.error_code})"
        changes.update(
            error_code=report.error_code,
            error=report.error,
            reason=report.reason or locked.reason,
            finished_at=at,
            explanation=f"{locked.explanation} {words}.".strip(),
        )
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*changes, "updated_at"])
    return locked, True


# --- Twilio ------------------------------------------------------------------------------------------


def _message_of(event: InboundEvent, params: dict[str, str], sid: str) -> Message | None:
    query = parse_qs(urlsplit(event.headers.get(SIGNED_URL_HEADER, "")).query)
    message_id = (query.get("message_id") or [""])[0]
    messages = Message.objects.filter(channel=Channel.SMS).select_related("shop", "customer", "order")
    # A shop's own account speaks for that shop only; an event without a shop was signed by the
    # settings account, which sends for every shop.
    if event.shop_id is not None:
        messages = messages.filter(shop_id=event.shop_id)
    message = messages.filter(pk=int(message_id)).first() if message_id.isdigit() else None
    if message is None and sid:
        message = messages.filter(provider_message_id=sid).order_by("-id").first()
    if message is not None and message.provider_message_id not in ("", sid):
        return None  # the URL names another send than the report: trust neither
    return message


@handles("twilio", TOPIC_STATUS, parse=form_body)
def twilio_status_apply(event: InboundEvent, params: dict[str, str]) -> Outcome:
    """A Twilio status callback: move the message, then record what the error code says about the recipient."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    status = CALLBACK_STATUSES.get(twilio_status)
    if status is None:
        raise IgnoreEvent(_("Twilio status “%s” is not one the outbox tracks.") % twilio_status)
    message = _message_of(event, params, sid)
    if message is None:
        if event.shop_id is None:
            raise IgnoreEvent(_("No SMS of ours matches Twilio message %s; kept as evidence only.") % (sid or "?"))
        raise IgnoreEvent(_("No SMS of this shop matches message %s.") % (sid or "?"))
    code = (params.get("ErrorCode") or "").strip()
    reason = ""
    if status == Status.FAILED and code == CODE_UNSUBSCRIBED:
        reason = Reason.OPTED_OUT
    elif status == Status.FAILED and code in UNUSABLE_NUMBER_CODES:
        reason = Reason.INVALID_ADDRESS
    report = StatusReport(
        status=status,
        provider_message_id=sid,
        error_code=code,
        error=(params.get("ErrorMessage") or ERROR_MEANINGS.get(code, ""))[:300],
        reason=reason,
        at=event.received_at,
    )
    before = message.status
    try:
        message, changed = message_status_report(message=message, report=report)
    except MessageStillSending as sending:
        raise EventMustWait(str(sending), waiting_for=sid) from None
    if not changed:
        raise IgnoreEvent(
            _("Message %(id)d is %(status)s; a “%(reported)s” report does not move it.")
            % {"id": message.pk, "status": message.get_status_display().lower(), "reported": twilio_status}
        )
    customer = message.customer
    if status == Status.FAILED and customer is not None:
        if code == CODE_UNSUBSCRIBED:
            consent_record(
                customer=customer,
                channel=Channel.SMS,
                action=ConsentRecord.Action.OPTED_OUT,
                source="provider",
                wording=f"Twilio error {code}",
                actor="Twilio status callback",
                message=message,
            )
        elif code in UNUSABLE_NUMBER_CODES:
            customer_phone_flag(
                customer=customer,
                phone=message.address,
                problem=f"Twilio error {code}: {ERROR_MEANINGS.get(code, report.error)}",
            )
    return Outcome(
        order=message.order,
        result={"message": message.pk, "from": before, "to": message.status, "error_code": code},
        shop=message.shop,
    )

"""Consent and opt-out: the customer's current state and the evidence of every change, written together."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from journeys.models import Channel, ConsentRecord, Message
from merchant.models import Customer

Action = ConsentRecord.Action


def _customer_changes(*, channel: str, action: str, source: str, at: dt.datetime) -> dict[str, object]:
    if channel not in Channel.values:
        raise ValueError(f"channel: unknown channel “{channel}”")
    if channel == Channel.PUSH:
        # Push consent is per browser and order, kept on its subscription (journeys.push.services).
        raise ValueError("channel: push consent is given and withdrawn through journeys.push.services")
    if action == Action.GRANTED:
        return {f"{channel}_marketing_consent_at": at, f"{channel}_marketing_consent_source": source[:120]}
    if action == Action.WITHDRAWN:
        return {f"{channel}_marketing_consent_at": None, f"{channel}_marketing_consent_source": ""}
    if action == Action.OPTED_OUT:
        # An opt-out ends marketing consent too: opting back in must not silently restore promotions.
        return {
            f"{channel}_opted_out_at": at,
            f"{channel}_marketing_consent_at": None,
            f"{channel}_marketing_consent_source": "",
        }
    if action == Action.OPTED_IN:
        return {f"{channel}_opted_out_at": None}
    raise ValueError(f"action: unknown action “{action}”")


@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    channel: str,
    action: str,
    source: str,
    wording: str = "",
    actor: str = "",
    message: Message | None = None,
    at: dt.datetime | None = None,
) -> ConsentRecord:
    """Change what `customer` allows on `channel` and keep the evidence row.

    Guarantees: the customer row and the record change in one transaction; the change takes
    effect for every message not yet handed to a provider, because the dispatcher checks the
    customer again just before sending. Recording the state the customer already has still
    keeps the evidence row (a second STOP is evidence too) and leaves the timestamps as they were.
    """
    at = at or timezone.now()
    changes = _customer_changes(channel=channel, action=action, source=source, at=at)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    already = {
        Action.OPTED_OUT: getattr(locked, f"{channel}_opted_out_at") is not None,
        Action.OPTED_IN: getattr(locked, f"{channel}_opted_out_at") is None,
        Action.GRANTED: getattr(locked, f"{channel}_marketing_consent_at") is not None,
        Action.WITHDRAWN: getattr(locked, f"{channel}_marketing_consent_at") is None,
    }[action]
    if not already:
        for name, value in changes.items():
            setattr(locked, name, value)
            setattr(customer, name, value)
        locked.save(update_fields=[*changes, "updated_at"])
    return ConsentRecord.objects.create(
        shop_id=locked.shop_id,
        customer=locked,
        channel=channel,
        action=action,
        source=source,
        wording=wording,
        actor=actor,
        message=message,
        at=at,
    )

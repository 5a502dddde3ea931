"""Writes of push subscriptions: subscribing, unsubscribing, and what the push service's answers change.

Every change of what a customer allows on the push channel keeps a `ConsentRecord` (channel "push")
in the same transaction as the subscription row it changes: the words the customer acted on, or
the push service's answer. The customer's current push state is the set of their live
subscriptions, one per browser and order; there is no column on the customer for it, so
`journeys.services.consent.consent_record` (which keeps SMS and email state on the customer) is not
used for push.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from journeys.models import Channel, ConsentRecord, Message, PushSubscription
from merchant.models import Order

Reason = PushSubscription.RemovedReason
SOURCE_STATUS_PAGE = "status_page"
SOURCE_PUSH_SERVICE = "push_service"


class PushSubscriptionConflict(Exception):
    """The endpoint is subscribed to another order (a browser keeps one subscription per service worker scope)."""


@dataclass(frozen=True)
class SubscriptionInput:
    """What `PushManager.subscribe()` gave the browser (`subscription.toJSON()`), checked for shape by the view."""

    endpoint: str
    p256dh: str
    auth: str
    expires_at: dt.datetime | None = None
    user_agent: str = ""
    language: str = ""


def _consent_keep(
    *,
    subscription: PushSubscription,
    action: str,
    source: str,
    wording: str,
    actor: str,
    at: dt.datetime,
    message: Message | None = None,
) -> ConsentRecord:
    return ConsentRecord.objects.create(
        shop_id=subscription.shop_id,
        customer_id=subscription.customer_id,
        channel=Channel.PUSH,
        action=action,
        source=source,
        wording=wording,
        actor=actor[:200],
        message=message,
        at=at,
    )


def push_subscription_save(
    *, order: Order, subscription: SubscriptionInput, wording: str, now: dt.datetime | None = None
) -> tuple[PushSubscription, bool]:
    """Subscribe a browser to `order`'s updates; returns (the subscription, whether consent was newly given).

    Guarantees: idempotent on the endpoint (the same subscription posted again updates its keys and
    records nothing new); a subscription the customer had turned off, or the push service had
    dropped, is live again and its consent recorded again; an endpoint subscribed to another order
    raises `PushSubscriptionConflict` and changes nothing. The order must have a customer.
    """
    if order.customer_id is None:
        raise ValueError("order: has no customer to notify")
    now = now or timezone.now()
    fields = {
        "p256dh": subscription.p256dh,
        "auth": subscription.auth,
        "expires_at": subscription.expires_at,
        "user_agent": subscription.user_agent[:300],
        "language": subscription.language,
    }
    for _attempt in range(2):  # two browsers cannot share an endpoint, but one may post twice at once
        try:
            with transaction.atomic():
                existing = PushSubscription.objects.select_for_update().filter(endpoint=subscription.endpoint).first()
                if existing is not None and existing.order_id != order.pk:
                    raise PushSubscriptionConflict(subscription.endpoint)
                if existing is None:
                    row = PushSubscription.objects.create(
                        shop_id=order.shop_id,
                        customer_id=order.customer_id,
                        order=order,
                        endpoint=subscription.endpoint,
                        created_at=now,
                        **fields,
                    )
                    consented = True
                else:
                    row = existing
                    consented = row.removed_at is not None
                    for name, value in fields.items():
                        setattr(row, name, value)
                    row.removed_at, row.removed_reason = None, ""
                    row.save(update_fields=[*fields, "removed_at", "removed_reason", "updated_at"])
                if consented:
                    _consent_keep(
                        subscription=row,
                        action=ConsentRecord.Action.OPTED_IN,
                        source=SOURCE_STATUS_PAGE,
                        wording=wording,
                        actor=subscription.user_agent or "customer",
                        at=now,
                    )
                return row, consented
        except IntegrityError:
            continue
    raise PushSubscriptionConflict(subscription.endpoint)


def push_subscription_unsubscribe(
    *, order: Order, endpoint: str, wording: str, now: dt.datetime | None = None
) -> PushSubscription | None:
    """Turn off the browser's notifications about `order`; None when that browser has no subscription to it.

    Guarantees: takes effect for every message not yet handed to the push service (the dispatcher
    looks for live subscriptions just before sending); a second call changes nothing and records
    nothing; another order's subscription is never touched.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = PushSubscription.objects.select_for_update().filter(order_id=order.pk, endpoint=endpoint).first()
        if row is None:
            return None
        if row.removed_at is None:
            row.removed_at, row.removed_reason = now, Reason.UNSUBSCRIBED
            row.save(update_fields=["removed_at", "removed_reason", "updated_at"])
            _consent_keep(
                subscription=row,
                action=ConsentRecord.Action.OPTED_OUT,
                source=SOURCE_STATUS_PAGE,
                wording=wording,
                actor=row.user_agent or "customer",
                at=now,
            )
        return row


@dataclass(frozen=True)
class PushGone:
    """A push service's answer that the subscription no longer exists (404/410), for the message that learnt it."""

    subscription_id: int
    message: Message
    error_code: str


def push_results_apply(*, delivered: Iterable[int], gone: Iterable[PushGone], now: dt.datetime) -> None:
    """After a dispatcher batch: mark the subscriptions the push service took notifications for, and remove
    the ones it said are gone (with the evidence, naming the message). One statement each when any."""
    delivered = sorted(set(delivered))
    if delivered:
        PushSubscription.objects.filter(pk__in=delivered).update(last_success_at=now, updated_at=now)
    for answer in gone:
        with transaction.atomic():
            removed = PushSubscription.objects.filter(pk=answer.subscription_id, removed_at__isnull=True).update(
                removed_at=now, removed_reason=Reason.EXPIRED, updated_at=now
            )
            if removed:
                row = PushSubscription.objects.only("shop_id", "customer_id").get(pk=answer.subscription_id)
                _consent_keep(
                    subscription=row,
                    action=ConsentRecord.Action.OPTED_OUT,
                    source=SOURCE_PUSH_SERVICE,
                    wording=f"The push service answered {answer.error_code}: the browser dropped the subscription.",
                    actor="push service",
                    at=now,
                    message=answer.message,
                )

"""Reads of push subscriptions: which orders a browser is listening to."""

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from journeys.models import PushSubscription
from merchant.models import Order


def _live(queryset: QuerySet[PushSubscription]) -> QuerySet[PushSubscription]:
    now = timezone.now()
    return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), removed_at__isnull=True)


def push_subscription_live_exists(*, order: Order) -> bool:
    return _live(PushSubscription.objects.filter(order_id=order.pk)).exists()


def push_subscription_live_annotation() -> Exists:
    """`Order.objects.annotate(push_live=...)`: whether the order has a live subscription, inside the order's
    own query (an index probe per order), so a batch of orders without any costs no query more."""
    return Exists(_live(PushSubscription.objects.filter(order_id=OuterRef("pk"))))


def push_subscriptions_live_by_order(*, order_ids: Iterable[int]) -> dict[int, PushSubscription]:
    """The newest live subscription of each order: one query for a whole batch.

    A customer with the page open on a phone and a laptop has two; the newest is the browser they
    used last, and one notification per update is what they asked for.
    """
    order_ids = list(order_ids)
    if not order_ids:
        return {}
    newest: dict[int, PushSubscription] = {}
    rows = _live(PushSubscription.objects.filter(order_id__in=order_ids)).order_by("order_id", "-created_at", "-id")
    for subscription in rows.only("id", "order_id", "endpoint", "p256dh", "auth", "created_at", "expires_at"):
        newest.setdefault(subscription.order_id, subscription)
    return newest


def push_subscription_for_order_get(*, order_id: int, endpoint: str) -> PushSubscription | None:
    return PushSubscription.objects.filter(order_id=order_id, endpoint=endpoint).first()

"""Reads that need tenancy filters or joins. Every query made for a person goes through here."""

from typing import Any

from django.db.models import QuerySet

from merchant.models import Membership, Merchant, Order, OrderEvent

_ROLES_CACHE_ATTR = "_merchant_shop_roles"


def user_shop_roles(user: Any) -> dict[int, str]:
    """{shop id: role} for the shops `user` belongs to; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, _ROLES_CACHE_ATTR, None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("shop_id", "role"))
        setattr(user, _ROLES_CACHE_ATTR, cached)
    return cached


def user_time_zone(user: Any) -> str | None:
    """The zone a person's pages show times in: their first shop's (by name), none for others."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user).order_by("shop__name").values_list("shop__time_zone", flat=True).first()


def user_shop_role(user: Any, shop_id: int | None) -> str | None:
    return user_shop_roles(user).get(shop_id) if shop_id is not None else None


def merchant_list_for_user(user: Any) -> QuerySet[Merchant]:
    """The shops a person may see: all of them for a superuser, else those they belong to."""
    if getattr(user, "is_superuser", False):
        return Merchant.objects.all()
    return Merchant.objects.filter(pk__in=list(user_shop_roles(user)))


def order_timeline_queryset(events: QuerySet[OrderEvent]) -> QuerySet[OrderEvent]:
    return events.select_related("actor_user").order_by("occurred_at", "id")


def order_timeline_list(*, order: Order) -> QuerySet[OrderEvent]:
    """An order's timeline, oldest first, with the people who acted."""
    return order_timeline_queryset(order.events.all())

"""What the order status page reads: the order a link names, and where it stands, in a few fixed queries.

`order_for_status_page` loads the order with its shop, customer, lines and parcels (3 queries);
`status_page_build` adds the moment it first went out for delivery (1 query) and, for a parcel on its
way, the shop's typical transit time (1 query, cached for hours). The registered actions (return,
review) add at most one query each. Nothing here writes: a GET changes no state.
"""

import datetime as dt
import hashlib
import math
import statistics
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from journeys.status.actions import ShownAction, status_actions_for
from merchant.models import Order, OrderEvent, OrderLine, Shipment

S = Order.Status
# Words that are also the admin's (order statuses) get the page's own translations.
PAGE = "order status page"

# What the customer reads at the top, by order status.
HEADLINES: dict[str, Promise] = {
    S.PENDING_PAYMENT: _("Waiting for payment"),
    S.PAID: _("Paid: we are preparing your order"),
    S.PARTIALLY_SHIPPED: _("Part of your order is on its way"),
    S.SHIPPED: _("Your order is on its way"),
    S.DELIVERED: pgettext_lazy(PAGE, "Delivered"),
    S.CANCELLED: pgettext_lazy(PAGE, "Cancelled"),
    S.PARTIALLY_REFUNDED: _("Partly refunded"),
    S.REFUNDED: pgettext_lazy(PAGE, "Refunded"),
}
PARCEL_STATUS: dict[str, Promise] = {
    Shipment.Status.LABEL_CREATED: _("Label created, waiting for the carrier"),
    Shipment.Status.IN_TRANSIT: pgettext_lazy(PAGE, "In transit"),
    Shipment.Status.OUT_FOR_DELIVERY: pgettext_lazy(PAGE, "Out for delivery"),
    Shipment.Status.DELIVERED: pgettext_lazy(PAGE, "Delivered"),
    Shipment.Status.FAILURE: _("Delivery attempt failed"),
}
# Orders with news still to come: the page offers notifications for these only (not once delivered, cancelled
# or refunded, when nothing the customer would want a notification for is left).
PUSH_OFFER_STATUSES = frozenset({S.PENDING_PAYMENT, S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED})
# The typical transit time is read from this many of the shop's recent deliveries (by the same carrier)...
TRANSIT_SAMPLE = 200
TRANSIT_SAMPLE_DAYS = 60
TRANSIT_MIN_SAMPLE = 5  # ...and not guessed from fewer
TRANSIT_CACHE_SECONDS = 6 * 3600
LINE_FIELDS = ("id", "order_id", "title", "quantity")
SHIPMENT_FIELDS = (
    "id", "order_id", "carrier", "tracking_number", "tracking_url", "status", "shipped_at",
    "last_carrier_event_at", "delivered_at",
)  # fmt: skip


def order_for_status_page(*, order_id: int, shop_id: int) -> Order | None:
    """The order a status link names, only if it belongs to that shop, with its shop, customer, lines and parcels."""
    return (
        Order.objects.filter(pk=order_id, shop_id=shop_id)
        .select_related("shop", "customer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.only(*LINE_FIELDS).order_by("id")),
            Prefetch("shipments", queryset=Shipment.objects.only(*SHIPMENT_FIELDS).order_by("shipped_at", "id")),
        )
        .first()
    )


def order_for_push(*, order_id: int, shop_id: int) -> Order | None:
    """The order a status link names, only if it belongs to that shop and has a customer to notify."""
    orders = Order.objects.select_related("customer", "shop").filter(customer__isnull=False)
    return orders.filter(pk=order_id, shop_id=shop_id).first()


def status_language(order: Order) -> str:
    """The language the page speaks: the order's, the customer's, the shop's, else the site default."""
    available = {code for code, _name in settings.LANGUAGES}
    customer_language = order.customer.language if order.customer is not None else ""
    for language in (order.language, customer_language, order.shop.default_language):
        if language in available:
            return language
    return settings.LANGUAGE_CODE


def status_time_zone(order: Order) -> zoneinfo.ZoneInfo:
    """The customer's zone (dates on the page are theirs), else the shop's."""
    for name in (order.customer.time_zone if order.customer is not None else "", order.shop.time_zone):
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class Step:
    key: str  # placed, paid, shipped, out_for_delivery, delivered, cancelled, refunded
    label: str | Promise
    at: dt.datetime | None
    state: str  # "done", "current" (the latest done step) or "next"


@dataclass(frozen=True)
class Parcel:
    shipment: Shipment
    status_label: str | Promise
    number: int

    @property
    def tracking_url(self) -> str:
        """The carrier's tracking page, only as a web address: the URL comes from the shop's platform, and a
        `javascript:` one in the page's link would run in the customer's browser."""
        url = self.shipment.tracking_url or ""
        return url if url.lower().startswith(("https://", "http://")) else ""


@dataclass(frozen=True)
class Expected:
    kind: str  # "ships_by" (the shop's promise), "today" (out for delivery), "estimate" (typical transit time)
    date: dt.date


@dataclass
class StatusPage:
    order: Order
    headline: str | Promise
    steps: list[Step]
    parcels: list[Parcel]
    expected: Expected | None
    actions: list[ShownAction] = field(default_factory=list)
    is_delivered: bool = False
    # Whether the page offers "notify me about this order" (journeys.push): only while updates are still to come
    # and there is a customer to notify (the subscribe endpoint refuses an order without one).
    offers_push: bool = False


def _first_out_for_delivery(order: Order) -> dt.datetime | None:
    return (
        OrderEvent.objects.filter(
            order=order, type=OrderEvent.Type.OUT_FOR_DELIVERY, outcome=OrderEvent.Outcome.APPLIED
        )
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def _steps(order: Order, parcels: list[Shipment]) -> list[Step]:
    refunded = order.status in (S.PARTIALLY_REFUNDED, S.REFUNDED)
    refund_label = pgettext_lazy(PAGE, "Refunded") if order.status == S.REFUNDED else _("Partly refunded")
    moments: list[tuple[str, str | Promise, dt.datetime | None, bool]] = [
        ("placed", pgettext_lazy(PAGE, "Order placed"), order.placed_at, True),
        ("paid", pgettext_lazy(PAGE, "Paid"), order.paid_at, order.paid_at is not None),
    ]
    if order.status == S.CANCELLED or (refunded and order.shipped_at is None):
        final = (
            ("cancelled", pgettext_lazy(PAGE, "Cancelled"), order.cancelled_at, True)
            if order.status == S.CANCELLED
            else ("refunded", refund_label, order.refunded_at, True)
        )
        moments = [moment for moment in moments if moment[3]] + [final]
    else:
        shipped_label = _("Partly shipped") if order.status == S.PARTIALLY_SHIPPED else pgettext_lazy(PAGE, "Shipped")
        out_at = _first_out_for_delivery(order) if parcels else None
        delivered = order.delivered_at is not None or order.status == S.DELIVERED
        moments += [
            ("shipped", shipped_label, order.shipped_at, order.shipped_at is not None),
            ("out_for_delivery", pgettext_lazy(PAGE, "Out for delivery"), out_at, out_at is not None),
            ("delivered", pgettext_lazy(PAGE, "Delivered"), order.delivered_at, delivered),
        ]
        if refunded:
            moments.append(("refunded", refund_label, order.refunded_at, True))
    # A step reached later implies the ones before it (cash on delivery: shipped, paid at the door).
    last_done = max((index for index, moment in enumerate(moments) if moment[3]), default=0)
    return [
        Step(
            key=key,
            label=label,
            at=at if index <= last_done else None,
            state="current" if index == last_done else "done" if index < last_done else "next",
        )
        for index, (key, label, at, _reached) in enumerate(moments)
    ]


def typical_transit_days(*, shop_id: int, carrier: str, now: dt.datetime) -> int | None:
    """Whole days from shipping to delivery for most of the shop's recent parcels with `carrier` (the median,
    rounded up), or None with fewer than TRANSIT_MIN_SAMPLE of them. Cached for hours: it changes slowly."""
    key = f"journeys.status.transit:{shop_id}:{hashlib.sha256(carrier.encode()).hexdigest()[:16]}"
    found = cache.get(key)
    if found is not None:
        return found or None  # 0 is cached for "not enough parcels to tell"
    # A delivered parcel's last carrier event is its delivery: the index (status, last_carrier_event_at) serves.
    rows = list(
        Shipment.objects.filter(
            order__shop_id=shop_id,
            carrier=carrier,
            status=Shipment.Status.DELIVERED,
            last_carrier_event_at__gte=now - dt.timedelta(days=TRANSIT_SAMPLE_DAYS),
        )
        .order_by("-last_carrier_event_at")
        .values_list("shipped_at", "last_carrier_event_at")[:TRANSIT_SAMPLE]
    )
    spans = [(delivered - shipped).total_seconds() / 86400 for shipped, delivered in rows if delivered >= shipped]
    days = max(1, math.ceil(statistics.median(spans))) if len(spans) >= TRANSIT_MIN_SAMPLE else 0
    cache.set(key, days, TRANSIT_CACHE_SECONDS)
    return days or None


def _expected(order: Order, parcels: list[Shipment], *, now: dt.datetime, zone: zoneinfo.ZoneInfo) -> Expected | None:
    """When the customer can expect the order: the shop's ship-by promise before it ships, "today" while a parcel
    is out for delivery, else an estimate from the shop's typical transit time; None when nothing sensible is known
    (or the estimate has already passed: no promise we cannot keep)."""
    today = now.astimezone(zone).date()
    if order.status == S.PAID and not parcels:
        if order.ship_by and order.ship_by.astimezone(zone).date() >= today:
            return Expected("ships_by", order.ship_by.astimezone(zone).date())
        return None
    if order.status not in (S.PARTIALLY_SHIPPED, S.SHIPPED):
        return None
    open_parcels = [parcel for parcel in parcels if parcel.status != Shipment.Status.DELIVERED]
    if any(parcel.status == Shipment.Status.OUT_FOR_DELIVERY for parcel in open_parcels):
        return Expected("today", today)
    latest = max(open_parcels, key=lambda parcel: parcel.shipped_at, default=None)
    if latest is None:
        return None
    days = typical_transit_days(shop_id=order.shop_id, carrier=latest.carrier, now=now)
    if days is None:
        return None
    estimate = latest.shipped_at.astimezone(zone).date() + dt.timedelta(days=days)
    return Expected("estimate", estimate) if estimate >= today else None


def status_page_build(order: Order, *, language: str, now: dt.datetime) -> StatusPage:
    """Everything the page shows of `order` (loaded by `order_for_status_page`), its actions included."""
    zone = status_time_zone(order)
    shipments = list(order.shipments.all())
    return StatusPage(
        order=order,
        headline=HEADLINES.get(order.status, order.get_status_display()),
        steps=_steps(order, shipments),
        parcels=[
            Parcel(shipment=shipment, status_label=PARCEL_STATUS.get(shipment.status, shipment.status), number=index)
            for index, shipment in enumerate(shipments, start=1)
        ],
        expected=_expected(order, shipments, now=now, zone=zone),
        actions=status_actions_for(order, language=language),
        is_delivered=order.status == S.DELIVERED or order.delivered_at is not None,
        offers_push=order.customer_id is not None and order.status in PUSH_OFFER_STATUSES,
    )

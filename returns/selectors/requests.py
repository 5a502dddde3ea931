"""Reads of return requests: what each line of an order can still return, until when, and for how much.

Eligibility is judged from current data each time it is asked (the portal page, the service that stores
a request): the window counts from the delivery of the order (its last parcel), in the customer's time
zone, to the end of the last day; customers in the EU always get at least 14 days (Directive 2011/83/EU,
art. 9), whatever the shop's window. A line can return what was bought minus what is already in a
request that is open or was resolved; a line whose product is in a non-returnable category is shown
with the reason and cannot be chosen.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Prefetch, QuerySet, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from merchant.models import Order, OrderLine
from returns.models import EU_WITHDRAWAL_DAYS, ReturnLine, ReturnPolicy, ReturnReason, ReturnRequest

# Member states of the European Union (ISO 3166-1 alpha-2; Greece is "GR" here, not the EU's own "EL").
EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
# A change of mind or size is the customer's choice: only then may the shop keep a restocking fee.
FEE_REASONS = frozenset({ReturnReason.CHANGED_MIND, ReturnReason.TOO_SMALL, ReturnReason.TOO_LARGE})
# Returns that still hold their items: the same item cannot be asked back twice.
HOLDING_STATUSES = frozenset({*ReturnRequest.OPEN, ReturnRequest.Status.RESOLVED})
# Orders that can have nothing more to return.
NOTHING_TO_RETURN = frozenset({Order.Status.REFUNDED, Order.Status.CANCELLED})
CENT = Decimal("0.01")


def return_policy_for(shop_id: int) -> ReturnPolicy:
    """The shop's policy, or the defaults (unsaved) for a shop without one."""
    return ReturnPolicy.objects.filter(shop_id=shop_id).first() or ReturnPolicy(shop_id=shop_id)


def customer_country(order: Order) -> str:
    """Where the customer is: their own country, else the shop's (orders carry no shipping address)."""
    customer = order.customer
    return str(customer.country if customer is not None and customer.country else order.shop.country)


def customer_time_zone(order: Order) -> zoneinfo.ZoneInfo:
    name = (order.customer.time_zone if order.customer is not None else "") or order.shop.time_zone or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class Window:
    days: int
    ends_at: dt.datetime  # the first moment returns are no longer possible (midnight, customer's zone)
    eu_floor_applied: bool  # the shop's window is shorter than 14 days and the EU floor gave the customer more
    last_day: dt.date  # the last day returns are possible, in the customer's zone

    @property
    def last_day_display(self) -> str:
        return formats.date_format(self.last_day, "DATE_FORMAT")


def return_window(*, order: Order, policy: ReturnPolicy) -> Window | None:
    """When the window ends for this order's customer; None while the order is not delivered."""
    if order.delivered_at is None:
        return None
    in_eu = customer_country(order) in EU_COUNTRIES
    days = max(policy.window_days, EU_WITHDRAWAL_DAYS) if in_eu else policy.window_days
    zone = customer_time_zone(order)
    delivered_on = timezone.localtime(order.delivered_at, zone).date()
    last_day = delivered_on + dt.timedelta(days=days)
    # Midnight after the last day, in the customer's zone (zoneinfo gives the right offset across DST).
    ends_at = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    floor_applied = in_eu and policy.window_days < EU_WITHDRAWAL_DAYS
    return Window(days=days, ends_at=ends_at, eu_floor_applied=floor_applied, last_day=last_day)


@dataclass
class LineEligibility:
    line: OrderLine
    bought: int
    in_returns: int
    returnable: int
    refusal: str = ""  # why none of it can be chosen, in plain words; "" when some can

    @property
    def unit_value(self) -> Decimal:
        return line_value(self.line, 1)


@dataclass
class Eligibility:
    order: Order
    policy: ReturnPolicy
    window: Window | None
    lines: list[LineEligibility] = field(default_factory=list)
    refusal: str = ""  # why nothing can be returned now, in plain words; "" when something can

    @property
    def can_return(self) -> bool:
        return not self.refusal

    def line(self, order_line_id: int) -> LineEligibility | None:
        return next((entry for entry in self.lines if entry.line.pk == order_line_id), None)


def quantities_in_returns(order: Order, *, exclude_request_id: int | None = None) -> dict[int, int]:
    """Per order line id: how many items are in the order's returns that are open or resolved."""
    rows = ReturnLine.objects.filter(
        return_request__order_id=order.pk, return_request__status__in=HOLDING_STATUSES
    ).exclude(return_request_id=exclude_request_id)
    return dict(
        rows.values("order_line_id").annotate(total=Sum("quantity")).order_by().values_list("order_line_id", "total")
    )


def _non_returnable(line: OrderLine, categories: set[str]) -> bool:
    category = (line.product.category if line.product is not None else "").strip().casefold()
    return bool(category) and category in categories


def return_eligibility(
    *, order: Order, policy: ReturnPolicy | None = None, now: dt.datetime | None = None
) -> Eligibility:
    """What the customer of `order` can return now, line by line, and why not when they cannot (plain words in
    the active language). Reads the order's lines with their products and the quantities already in returns."""
    now = now or timezone.now()
    policy = policy or return_policy_for(order.shop_id)
    window = return_window(order=order, policy=policy)
    result = Eligibility(order=order, policy=policy, window=window)
    categories = {category.strip().casefold() for category in policy.non_returnable_categories if category.strip()}
    taken = quantities_in_returns(order)
    for line in order.lines.select_related("product").order_by("id"):
        in_returns = taken.get(line.pk, 0)
        returnable = max(line.quantity - in_returns, 0)
        entry = LineEligibility(line=line, bought=line.quantity, in_returns=in_returns, returnable=returnable)
        if _non_returnable(line, categories):
            entry.returnable = 0
            entry.refusal = _("This item cannot be returned (final sale).")
        elif returnable == 0:
            entry.refusal = _("Already in a return.") if in_returns else _("Nothing to return.")
        result.lines.append(entry)
    if order.status in NOTHING_TO_RETURN:
        result.refusal = (
            _("This order was cancelled, so there is nothing to return.")
            if order.status == Order.Status.CANCELLED
            else _("This order was refunded in full, so there is nothing left to return.")
        )
    elif window is None:
        result.refusal = _(
            "Your order has not been delivered yet. You can return items once it has arrived; this page will then "
            "let you choose them."
        )
    elif now >= window.ends_at:
        result.refusal = _("The return window ended on %(day)s.") % {"day": window.last_day_display}
    elif not any(entry.returnable for entry in result.lines):
        if any(entry.in_returns for entry in result.lines):
            result.refusal = _("Every item of this order is already in a return.")
        else:
            result.refusal = _("None of the items of this order can be returned.")
    return result


def line_value(line: OrderLine, quantity: int) -> Decimal:
    """What `quantity` items of `line` cost the customer: the line total (after its discounts) shared per item."""
    if quantity == line.quantity and line.total:
        return line.total
    unit = (line.total / line.quantity) if line.total and line.quantity else line.unit_price
    return (unit * quantity).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RefundEstimate:
    items_value: Decimal
    restocking_fee: Decimal
    refund: Decimal


def refund_estimate(*, policy: ReturnPolicy, reason: str, values: list[Decimal]) -> RefundEstimate:
    """The refund for items worth `values`: their value less the restocking fee, kept only for a change of mind or
    size (never for damaged, wrong or not-as-described items)."""
    total = sum(values, Decimal("0"))
    fee = Decimal("0")
    if reason in FEE_REASONS and policy.restocking_fee_percent:
        fee = (total * policy.restocking_fee_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return RefundEstimate(items_value=total, restocking_fee=fee, refund=total - fee)


# --- requests ---------------------------------------------------------------------------------------------


def return_requests_of_order(*, order: Order) -> QuerySet[ReturnRequest]:
    """The order's requests, newest first, with their lines (and those lines' order lines) in one more query."""
    return (
        ReturnRequest.objects.filter(order=order)
        .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line").order_by("id")))
        .order_by("-created_at", "-id")
    )


def return_request_get(*, order: Order, request_id: int) -> ReturnRequest | None:
    """One request of `order`, or None for an id of another order or shop."""
    return return_requests_of_order(order=order).filter(pk=request_id).first()


def order_for_portal(*, order_id: int, shop_id: int) -> Order | None:
    """The order a portal link names, only if it belongs to that shop, with its shop and customer."""
    return Order.objects.select_related("shop", "customer").filter(pk=order_id, shop_id=shop_id).first()


def portal_language(order: Order) -> str:
    """The language the portal speaks: the order's, the customer's, the shop's, else the site default."""
    available = {code for code, _name in settings.LANGUAGES}
    customer_language = order.customer.language if order.customer is not None else ""
    for language in (order.language, customer_language, order.shop.default_language):
        if language in available:
            return language
    return settings.LANGUAGE_CODE


# Statuses in which the customer may still call the return off (before anything was sent back).
CUSTOMER_CANCELLABLE = frozenset(
    {ReturnRequest.Status.REQUESTED, ReturnRequest.Status.NEEDS_REVIEW, ReturnRequest.Status.APPROVED}
)


def return_requests_expired_due(*, now: dt.datetime) -> QuerySet[ReturnRequest]:
    """Approved requests whose instructions ran out (the partial index `returns_request_expiry_idx`)."""
    return ReturnRequest.objects.filter(status=ReturnRequest.Status.APPROVED, instructions_expire_at__lte=now).order_by(
        "instructions_expire_at", "id"
    )

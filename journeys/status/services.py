"""Counting visits to the order status page, and the anxiety signal they raise.

`order_status_visit_record` is called by the page's beacon (POST), never by the page's GET. A reload
burst counts once: one visit per browser and order per DEDUPE_WINDOW. When the visits of an order that
is paid but not yet delivered reach the shop's threshold within its window (StatusCheckSettings; 3 in
24 hours by default), the `order_status_checked` trigger is raised, at most once per order per window:
its rules plan a proactive update to the customer (journeys.services.external.message_plan), and the
listeners of journeys.status.listeners hear of it (the support queue flags the order's case).

After raising it the signal stays quiet for exactly one window, measured from the visit that raised it:
the first counted visit at or after that visit's time + window_hours may raise it again, when the visits
since the signal that fall within the window reach the threshold (the visits made while it was quiet
count towards that).
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.services.external import message_plan
from journeys.status import listeners
from journeys.status.models import DEFAULT_VISITS, DEFAULT_WINDOW_HOURS, OrderStatusVisit, StatusCheckSettings
from journeys.triggers import ORDER_STATUS_CHECKED, STATUS_CHECK_STATUSES
from merchant.models import Order

# A reload, a second tab, the browser restoring the page: one visit per browser and order in this time.
DEDUPE_WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Threshold:
    is_enabled: bool
    visits: int
    window_hours: int

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(hours=self.window_hours)


DEFAULT_THRESHOLD = Threshold(is_enabled=True, visits=DEFAULT_VISITS, window_hours=DEFAULT_WINDOW_HOURS)


def status_check_threshold_for(shop_id: int) -> Threshold:
    """The shop's settings, or the defaults (3 visits in 24 hours) for a shop without a row. One query."""
    row = StatusCheckSettings.objects.filter(shop_id=shop_id).values_list("is_enabled", "visits", "window_hours")
    found = row.first()
    return Threshold(*found) if found else DEFAULT_THRESHOLD


def status_check_settings_save(*, row: StatusCheckSettings) -> StatusCheckSettings:
    """Create or change a shop's settings; they apply from the next visit. Bad values are refused, naming the field."""
    row.full_clean()
    row.save()
    return row


@dataclass(frozen=True)
class VisitOutcome:
    counted: bool  # False: the same browser looked at this order within DEDUPE_WINDOW
    raised: bool  # this visit raised `order_status_checked`
    visits_in_window: int  # counted visits in the current window (0 when not counted or not before delivery)
    visit: OrderStatusVisit | None = None


@transaction.atomic
def order_status_visit_record(*, order: Order, visitor: str, now: dt.datetime | None = None) -> VisitOutcome:
    """Count one visit of `visitor` (a browser) to `order`'s status page, and raise the anxiety signal when due.

    Guarantees: a browser's visits to one order within DEDUPE_WINDOW count once; the signal is raised only while
    the order is paid and not yet delivered, when the visits since the window began (and since the last signal)
    reach the shop's threshold; after it is raised at T it stays quiet until T + window exactly (a visit at
    T + window may raise it again), so at most once per order per window, also under concurrent beacons (the
    order's row is locked); raising plans the trigger's messages and tells the listeners in this transaction.
    """
    now = now or timezone.now()
    if not visitor or len(visitor) > 64:
        raise ValidationError({"visitor": _("A visitor id of 1 to 64 characters is needed.")})
    # Lock order first (DESIGN.md §5): concurrent beacons of one order count and decide one after another.
    order = Order.objects.select_for_update(of=("self",)).select_related("shop", "customer").get(pk=order.pk)
    visits = OrderStatusVisit.objects.filter(order=order)
    if visits.filter(visitor=visitor, at__gt=now - DEDUPE_WINDOW).exists():
        return VisitOutcome(counted=False, raised=False, visits_in_window=0)
    visit = OrderStatusVisit.objects.create(
        shop_id=order.shop_id, order=order, visitor=visitor, order_status=order.status, at=now
    )
    if order.status not in STATUS_CHECK_STATUSES:
        return VisitOutcome(counted=True, raised=False, visits_in_window=0, visit=visit)
    threshold = status_check_threshold_for(order.shop_id)
    # The window is (now - window, now]: a visit exactly one window old has left it, and so has a signal raised
    # exactly one window ago, which ends its quiet time at that moment.
    window_start = now - threshold.window
    recent = visits.filter(at__gt=window_start)
    facts = recent.aggregate(last_raised=Max("at", filter=Q(raised_signal=True)))
    if facts["last_raised"] is not None:
        # Raised less than one window ago: quiet until last_raised + window. The visits since count towards
        # the next signal.
        count = recent.filter(at__gt=facts["last_raised"]).count()
        return VisitOutcome(counted=True, raised=False, visits_in_window=count, visit=visit)
    count = recent.count()
    if not threshold.is_enabled or count < threshold.visits:
        return VisitOutcome(counted=True, raised=False, visits_in_window=count, visit=visit)
    visit.raised_signal = True
    visit.save(update_fields=["raised_signal"])
    _signal_raise(order, visit, visits=count, threshold=threshold, now=now)
    return VisitOutcome(counted=True, raised=True, visits_in_window=count, visit=visit)


def _signal_raise(order: Order, visit: OrderStatusVisit, *, visits: int, threshold: Threshold, now: dt.datetime):
    if order.customer is not None:
        message_plan(
            trigger=ORDER_STATUS_CHECKED,
            shop=order.shop,
            customer=order.customer,
            order=order,
            anchor_at=now,
            step=f"status-visit-{visit.pk}",
            now=now,
        )
    listeners.listeners_notify(
        listeners.StatusChecked(
            shop_id=order.shop_id,
            order_id=order.pk,
            customer_id=order.customer_id,
            visits=visits,
            window_hours=threshold.window_hours,
            order_status=order.status,
            at=now,
            source=f"journeys.orderstatusvisit:{visit.pk}",
        )
    )

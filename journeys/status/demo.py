"""The demo shop's order status page (`manage.py seed_demo`, through merchant.demo).

Makes sure the demo has the rule answering customers who keep checking their order (a demo loaded
before the rule existed gets it, on), picks a demo customer whose order is on its way and shows the
link to its status page, and lets another customer check theirs three times so the support queue and
the outbox show the signal. Only what is missing is created.
"""

import datetime as dt

from django.utils import timezone

from journeys.models import CareRule
from journeys.services.rules import care_rules_for_triggers_create
from journeys.status.links import order_status_url
from journeys.status.models import OrderStatusVisit
from journeys.status.services import order_status_visit_record
from journeys.triggers import ORDER_STATUS_CHECKED, trigger_get
from merchant.models import Merchant, Order


def status_demo_order(shop: Merchant) -> Order | None:
    """The demo customer's order shown by the status link: the latest order on its way of an English-speaking
    customer (else of anyone), else the latest order."""
    shipped = Order.objects.filter(shop=shop, status=Order.Status.SHIPPED, customer__isnull=False)
    return (
        shipped.filter(customer__language="en").order_by("-shipped_at", "-id").first()
        or shipped.order_by("-shipped_at", "-id").first()
        or Order.objects.filter(shop=shop, customer__isnull=False).order_by("-placed_at", "-id").first()
    )


def status_demo_seed(shop: Merchant, *, now: dt.datetime | None = None) -> dict[str, int | str]:
    """The rule, the demo customer's status link, and one worried customer's visits; counts created and the link."""
    now = now or timezone.now()
    before = CareRule.objects.filter(shop=shop, trigger=ORDER_STATUS_CHECKED).count()
    care_rules_for_triggers_create(shop=shop, specs=[trigger_get(ORDER_STATUS_CHECKED)], active=lambda spec: True)
    created_rules = CareRule.objects.filter(shop=shop, trigger=ORDER_STATUS_CHECKED).count() - before
    shown = status_demo_order(shop)
    if shown is None:
        return {"STATUS_RULES_CREATED": created_rules}
    created_visits = 0
    # Another customer whose parcel is on its way looked three times this morning (three browsers: phone,
    # laptop, a partner's phone): the third visit raises the signal.
    worried = (
        Order.objects.filter(shop=shop, status=Order.Status.SHIPPED, customer__isnull=False)
        .exclude(pk=shown.pk)
        .order_by("-shipped_at", "-id")
        .first()
    )
    if worried is not None and not OrderStatusVisit.objects.filter(order=worried).exists():
        for minutes_ago, visitor in ((150, "demo-visitor-phone"), (90, "demo-visitor-laptop"), (5, "demo-visitor-2")):
            order_status_visit_record(order=worried, visitor=visitor, now=now - dt.timedelta(minutes=minutes_ago))
            created_visits += 1
    return {
        "STATUS_RULES_CREATED": created_rules,
        "STATUS_VISITS_CREATED": created_visits,
        "DEMO_STATUS_ORDER": shown.number,
        "DEMO_STATUS_URL": order_status_url(order_id=shown.pk, shop_id=shop.pk),
    }

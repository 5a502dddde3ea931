"""Customers who keep checking their order, flagged in the support queue (journeys.status.listeners).

journeys counts visits to the order status page and raises the signal when the customer keeps looking
before delivery (the shop's settings: 3 visits in 24 hours by default). The queue hears of it here: the
order's case gets an item saying so, the case is opened for it when the order has none (or opened again
when it was resolved), so an agent sees "checked the order status 3 times in 24 hours" and can reach out
before the customer writes. One item per raised signal (idempotent per its source).
"""

from django.urls import reverse

from journeys.status.listeners import StatusChecked
from merchant.actors import Actor
from merchant.models import Merchant, Order
from returns.models import CaseItem
from returns.services.cases import case_item_attach


def status_checks_summary(*, visits: int, window_hours: int) -> str:
    return f"Customer checked the order status {visits} times in {window_hours} hours, before delivery"


def case_flag_status_checks(checked: StatusChecked) -> None:
    """The listener returns registers with journeys.status.listeners: flag the order's case."""
    shop = Merchant.objects.get(pk=checked.shop_id)
    order = Order.objects.select_related("customer").filter(pk=checked.order_id, shop=shop).first()
    if order is None:
        return
    case_item_attach(
        shop=shop,
        order=order,
        customer=order.customer,
        kind=CaseItem.Kind.STATUS_CHECKS,
        source=checked.source,
        summary=status_checks_summary(visits=checked.visits, window_hours=checked.window_hours),
        actor=Actor.system("order status page"),
        admin_path=reverse("admin:merchant_order_change", args=[order.pk]),
        now=checked.at,
    )

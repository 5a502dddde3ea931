"""What can start a care rule. Trigger names are part of the API.

journeys declares the order-care triggers below. Other apps (reviews, returns, campaigns) add
theirs with `trigger_register()` from their `AppConfig.ready()`; journeys never imports them.
Each trigger declares, as data, in which order statuses its message still makes sense: the
planner cancels open messages whose order moved out of them, and the dispatcher checks again
just before sending.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from journeys.order_parts import order_parcels
from merchant.models import Order, OrderEvent, Shipment

S = Order.Status
E = OrderEvent.Type


class Kind:
    EVENT = "event"  # planned when an order event happens
    SCAN = "scan"  # found by a periodic, indexed scan (nothing happened: that is the point)
    EXTERNAL = "external"  # planned by another app through journeys.services.external.message_plan
    CAMPAIGN = "campaign"  # planned by the fan-out of a campaign or holiday greeting (journeys.campaigns)


@dataclass(frozen=True)
class TriggerSpec:
    name: str
    label: str
    description: str
    kind: str
    # What the delay counts from, for explanations: "delivered 3 Mar 14:02 + 2 days".
    anchor_label: str
    # Order statuses in which a planned message still fits. None: not tied to the order's status.
    fits_order_statuses: frozenset[str] | None = None
    # Order events that plan this trigger (kind EVENT).
    order_event_types: frozenset[str] = frozenset()
    # The order field holding the anchor moment, for dry runs over existing orders.
    order_anchor_field: str = ""
    # Defaults of the rule every new shop gets.
    default_delay: tuple[int, str] = (0, "minutes")
    default_channel: str = "sms"
    default_fallback_channel: str = "email"
    default_message_class: str = "transactional"
    default_send_any_hour: bool = False
    default_expire_after_hours: int = 72
    in_default_rule_set: bool = True
    # Extra check just before sending: (message) -> why it no longer applies, "" when it does.
    still_applies: Callable | None = field(default=None, compare=False)
    # Holds (journeys.holds) a planned message waits for before it is sent, e.g. "return_open".
    waits_for: frozenset[str] = frozenset()
    # Whether a rule may keep a holdout group (journeys.holdout): not for a message the customer needs,
    # such as a person's reply or a return's instructions.
    holdout_allowed: bool = True


_registry: dict[str, TriggerSpec] = {}


def trigger_register(spec: TriggerSpec) -> TriggerSpec:
    """Add a trigger. Registering the same name again replaces it (app reloads in tests)."""
    _registry[spec.name] = spec
    return spec


def trigger_unregister(name: str) -> None:
    """Remove a trigger (an app's tests tidying up after registering one)."""
    _registry.pop(name, None)


def trigger_get(name: str) -> TriggerSpec | None:
    return _registry.get(name)


def triggers_all() -> list[TriggerSpec]:
    return list(_registry.values())


def trigger_choices() -> list[tuple[str, str]]:
    return [(spec.name, f"{spec.label} ({spec.name})") for spec in _registry.values()]


def triggers_for_order_event(event_type: str) -> list[TriggerSpec]:
    return [spec for spec in _registry.values() if spec.kind == Kind.EVENT and event_type in spec.order_event_types]


def triggers_not_fitting(status: str) -> list[str]:
    """Trigger names whose open messages no longer fit an order in `status`."""
    return [
        spec.name
        for spec in _registry.values()
        if spec.fits_order_statuses is not None and status not in spec.fits_order_statuses
    ]


SHIPPED_STATUSES = frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED})
ORDER_STATUS_CHECKED = "order_status_checked"
# "Before delivery" for the anxiety signal: paid and on its way. An unpaid order has its own reminder.
STATUS_CHECK_STATUSES = frozenset({S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED})


def _stuck_parcel_still_applies(message) -> str:
    """The parcel is still quiet since the update the message was planned for."""
    shipment_id = message.step.split("-")[1] if message.step.startswith("shipment-") else None
    # Over the prefetched parcels of the batch, not one query per message.
    shipment = next((s for s in order_parcels(message.order) if str(s.pk) == shipment_id), None)
    if shipment is None:
        return ""
    if shipment.status == Shipment.Status.DELIVERED:
        return str(_("the parcel was delivered"))
    if shipment.last_carrier_event_at and shipment.last_carrier_event_at > message.anchor_at:
        return str(_("the carrier reported the parcel again"))
    return ""


ORDER_CARE_TRIGGERS = [
    TriggerSpec(
        name="unpaid_reminder",
        order_anchor_field="placed_at",
        label=_("Unpaid order reminder"),
        description=_("The order is still unpaid this long after it was placed."),
        kind=Kind.EVENT,
        anchor_label=_("placed"),
        fits_order_statuses=frozenset({S.PENDING_PAYMENT}),
        order_event_types=frozenset({E.CREATED}),
        default_delay=(60, "minutes"),
        default_expire_after_hours=24,
    ),
    TriggerSpec(
        name="payment_confirmed",
        order_anchor_field="paid_at",
        label=_("Payment confirmed"),
        description=_("The payment arrived."),
        kind=Kind.EVENT,
        anchor_label=_("paid"),
        fits_order_statuses=frozenset({S.PAID, S.PARTIALLY_SHIPPED}),
        order_event_types=frozenset({E.PAID}),
        default_channel="email",
        default_fallback_channel="sms",
        default_send_any_hour=True,
        default_expire_after_hours=24,
    ),
    TriggerSpec(
        name="late_shipment",
        label=_("Late shipment apology"),
        description=_("The ship-by time passed without a shipment, plus the delay as grace."),
        kind=Kind.SCAN,
        anchor_label=_("ship-by time"),
        fits_order_statuses=frozenset({S.PAID}),
        default_delay=(12, "hours"),
        default_expire_after_hours=48,
    ),
    TriggerSpec(
        name="shipped",
        order_anchor_field="shipped_at",
        label=_("Shipped, with tracking"),
        description=_("A parcel left; the message carries its tracking link."),
        kind=Kind.EVENT,
        anchor_label=_("shipped"),
        fits_order_statuses=SHIPPED_STATUSES,
        order_event_types=frozenset({E.SHIPPED, E.PARTIALLY_SHIPPED}),
        default_expire_after_hours=48,
    ),
    TriggerSpec(
        name="out_for_delivery",
        label=_("Out for delivery"),
        description=_("The carrier is bringing a parcel today."),
        kind=Kind.EVENT,
        anchor_label=_("out for delivery"),
        fits_order_statuses=SHIPPED_STATUSES,
        order_event_types=frozenset({E.OUT_FOR_DELIVERY}),
        default_expire_after_hours=12,
    ),
    TriggerSpec(
        name="delivered",
        order_anchor_field="delivered_at",
        label=_("Delivered"),
        description=_("The whole order was delivered."),
        kind=Kind.EVENT,
        anchor_label=_("delivered"),
        fits_order_statuses=frozenset({S.DELIVERED}),
        order_event_types=frozenset({E.DELIVERED}),
        default_delay=(2, "hours"),
        default_channel="email",
        default_fallback_channel="sms",
        default_expire_after_hours=72,
    ),
    TriggerSpec(
        name="stuck_parcel",
        label=_("Stuck parcel"),
        description=_("No carrier update this long after the last one."),
        kind=Kind.SCAN,
        anchor_label=_("last carrier update"),
        fits_order_statuses=SHIPPED_STATUSES,
        default_delay=(5, "days"),
        default_expire_after_hours=72,
        still_applies=_stuck_parcel_still_applies,
    ),
    TriggerSpec(
        name="refund_processed",
        order_anchor_field="refunded_at",
        label=_("Refund processed"),
        description=_("Money went back to the customer."),
        kind=Kind.EVENT,
        anchor_label=_("refunded"),
        fits_order_statuses=frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
        order_event_types=frozenset({E.PARTIALLY_REFUNDED, E.REFUNDED}),
        default_channel="email",
        default_fallback_channel="sms",
        default_send_any_hour=True,
        default_expire_after_hours=72,
        holdout_allowed=False,  # the customer is told where their money is, always
    ),
    # The anxiety signal: planned by journeys.status.services when a customer keeps opening the order status
    # page before delivery (the shop's StatusCheckSettings: 3 visits in 24 hours by default), at most once per
    # window. A proactive answer to "where is my order?" before it is asked; pointless once it arrived.
    TriggerSpec(
        name=ORDER_STATUS_CHECKED,
        label=_("Customer keeps checking the order"),
        description=_(
            "The customer opened the order status page several times before delivery (see the status check "
            "settings): a proactive update on where the order is."
        ),
        kind=Kind.EXTERNAL,
        anchor_label=_("status checked"),
        fits_order_statuses=STATUS_CHECK_STATUSES,
        default_expire_after_hours=12,
        # It answers what the customer just did (as an auto-reply does): holding it out would leave a worried
        # customer without the answer, and no outcome on the rule performance page measures what it prevents.
        holdout_allowed=False,
    ),
]
ORDER_CARE_TRIGGER_NAMES = [spec.name for spec in ORDER_CARE_TRIGGERS]

for _spec in ORDER_CARE_TRIGGERS:
    trigger_register(_spec)
del S, E

# Holiday greetings (journeys.campaigns): each approved date becomes a campaign whose fan-out plans
# the messages; no order event starts them and they are not tied to an order's status.
trigger_register(
    TriggerSpec(
        name="holiday_greeting",
        label=_("Holiday greeting"),
        description=_("An approved holiday or shop date, at a local hour, on the day or some days before."),
        kind=Kind.CAMPAIGN,
        anchor_label=_("holiday"),
        default_channel="sms",
        default_fallback_channel="email",
        default_message_class="marketing",
        default_expire_after_hours=12,
        in_default_rule_set=False,
    )
)


_ORDER_STATUS_LABELS = dict(Order.Status.choices)


def _campaign_still_applies(message) -> str:
    """A message of an order-audience campaign fits while its order is still in one of the audience's statuses.

    E.g. a delay notice to paid but unshipped orders is pointless once the order shipped. The
    dispatcher loads each batch's campaigns with their audiences, so this costs no query.
    """
    campaign = message.campaign if message.campaign_id else None
    if campaign is None or message.order is None:
        return ""
    statuses = campaign.audience.order_statuses
    if statuses and message.order.status not in statuses:
        return str(
            _("the order is %(status)s now, no longer in the campaign's audience")
            % {"status": str(_ORDER_STATUS_LABELS.get(message.order.status, message.order.status)).lower()}
        )
    return ""


# Campaigns (journeys.campaigns): a one-off send to an audience of customers or orders, planned by
# the campaign's fan-out; never part of a shop's default rule set.
trigger_register(
    TriggerSpec(
        name="campaign",
        label=_("Campaign"),
        description=_("A one-off send to an audience at a date and time, in the shop's or each customer's zone."),
        kind=Kind.CAMPAIGN,
        anchor_label=_("campaign time"),
        default_channel="sms",
        default_fallback_channel="email",
        default_message_class="marketing",
        default_expire_after_hours=24,
        in_default_rule_set=False,
        still_applies=_campaign_still_applies,
    )
)

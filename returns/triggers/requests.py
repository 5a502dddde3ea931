"""The triggers of return requests, the values their copy uses, and the `return_open` hold.

Every step of a return the customer should hear about plans one message through journeys (kind
EXTERNAL, planned by `returns.services.requests` in the same transaction as the step, step
"return-<id>"): the request arrived, it was approved (with the shop's instructions and the date by
which to send the items), declined (with the words staff wrote), the parcel arrived back, the shop
cancelled it, or it expired unsent. All are transactional and on from the start: the customer asked.

Template values, filled only for these messages (one query per message, none for others):
`{{ return_number }}`, `{{ return_items }}`, `{{ return_instructions }}`, `{{ return_deadline }}` (a date:
`{{ return_deadline|date:"j F" }}`), `{{ return_decline_message }}`, `{{ return_refund_estimate }}`.

The `return_open` hold keeps messages that wait for it (review requests, referral invitations) unsent
while the order has a return in progress.
"""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journeys.context import ValueSpec
from journeys.holds import Hold, HoldSpec
from journeys.triggers import Kind, TriggerSpec

STEP_PREFIX = "return"


def return_step(request_id: int) -> str:
    return f"{STEP_PREFIX}-{request_id}"


def _spec(name: str, label, description, *, expire_after_hours: int = 72) -> TriggerSpec:
    return TriggerSpec(
        name=name,
        label=label,
        description=description,
        kind=Kind.EXTERNAL,
        anchor_label=gettext_lazy("return step"),
        default_channel="email",
        default_fallback_channel="sms",
        default_send_any_hour=False,
        default_expire_after_hours=expire_after_hours,
        in_default_rule_set=False,
        # The customer asked and needs the answer (instructions, a deadline): nobody is held out.
        holdout_allowed=False,
    )


RETURN_REQUESTED = _spec(
    "return_requested",
    gettext_lazy("Return requested"),
    gettext_lazy("Confirms a return request from the portal and says what happens next."),
)
RETURN_APPROVED = _spec(
    "return_approved",
    gettext_lazy("Return approved"),
    gettext_lazy(
        "The return was approved (by staff or a policy rule): the shop's instructions ({{ return_instructions }}) "
        "and the date to send the items by ({{ return_deadline }})."
    ),
)
RETURN_DECLINED = _spec(
    "return_declined",
    gettext_lazy("Return declined"),
    gettext_lazy("The return was declined; the words staff wrote are in {{ return_decline_message }}."),
)
RETURN_RECEIVED = _spec(
    "return_received",
    gettext_lazy("Return received"),
    gettext_lazy("The items arrived back at the shop and will be checked."),
)
RETURN_CANCELLED = _spec(
    "return_cancelled",
    gettext_lazy("Return cancelled by the shop"),
    gettext_lazy("Staff cancelled the return (a customer who cancels sees it on the page)."),
)
RETURN_EXPIRED = _spec(
    "return_expired",
    gettext_lazy("Return expired"),
    gettext_lazy("An approved return was not sent in time; the customer may ask again while the window is open."),
)

RETURN_TRIGGER_SPECS = (
    RETURN_REQUESTED,
    RETURN_APPROVED,
    RETURN_DECLINED,
    RETURN_RECEIVED,
    RETURN_CANCELLED,
    RETURN_EXPIRED,
)
RETURN_TRIGGERS = frozenset(spec.name for spec in RETURN_TRIGGER_SPECS)


# --- template values -------------------------------------------------------------------------------------

_PREVIEW = {
    "return_number": "#1001-R1",
    "return_items": "1 × Trail running shoes, 2 × Wool socks",
    "return_instructions": "Pack the items in their original box and take it to any post office.",
    "return_deadline": dt.datetime(2026, 12, 24, 12, tzinfo=dt.UTC),
    "return_decline_message": "These shoes were worn outdoors, so we cannot take them back.",
    "return_refund_estimate": "35.00 USD",
}


def _request_id(message) -> int | None:
    parts = (message.step or "").split("-")
    return int(parts[1]) if len(parts) == 2 and parts[0] == STEP_PREFIX and parts[1].isdigit() else None


def _values(message) -> dict:
    """The values of a return message, read once per message; {} for any other message (no query)."""
    if message.trigger not in RETURN_TRIGGERS:
        return {}
    cached = getattr(message, "_return_values", None)
    if cached is not None:
        return cached
    request_id = _request_id(message)
    if request_id is None:
        return _PREVIEW  # a preview in the admin
    from returns.models import ReturnPolicy, ReturnRequest

    found = (
        ReturnRequest.objects.filter(pk=request_id, shop_id=message.shop_id)
        .prefetch_related("lines__order_line")
        .first()
    )
    if found is None:
        message._return_values = {}
        return {}
    instructions = (
        ReturnPolicy.objects.filter(shop_id=message.shop_id).values_list("return_instructions", flat=True).first() or ""
    )
    message._return_values = {
        "return_number": found.number,
        "return_items": ", ".join(f"{line.quantity} × {line.order_line.title}" for line in found.lines.all()),
        "return_instructions": instructions,
        "return_deadline": found.instructions_expire_at,
        "return_decline_message": found.decline_message,
        "return_refund_estimate": f"{found.estimated_refund} {found.currency}",
    }
    return message._return_values


def _maker(name: str):
    def make(message):
        return _values(message).get(name, "")

    return make


RETURN_VALUES = [
    ValueSpec(
        name="return_number",
        description="Return messages: the return's number, e.g. #1001-R1",
        worst_case="#SHOP-2026-1234567-R12",
        make=_maker("return_number"),
    ),
    ValueSpec(
        name="return_items",
        description="Return messages: the items going back, e.g. 1 × Wool socks",
        worst_case=", ".join(["99 × Organic cotton hooded sweatshirt, forest green"] * 3),
        make=_maker("return_items"),
    ),
    ValueSpec(
        name="return_instructions",
        description="Return approved: where and how to send the items (return policy)",
        worst_case="I" * 1000,
        make=_maker("return_instructions"),
    ),
    ValueSpec(
        name="return_deadline",
        description='Return approved: when the approval expires if nothing was sent (a date: |date:"j F")',
        worst_case=dt.datetime(2026, 12, 24, 12, tzinfo=dt.UTC),
        make=_maker("return_deadline"),
    ),
    ValueSpec(
        name="return_decline_message",
        description="Return declined: the words staff wrote to the customer",
        worst_case="W" * 500,
        make=_maker("return_decline_message"),
    ),
    ValueSpec(
        name="return_refund_estimate",
        description="Return messages: the estimated refund with currency, restocking fee deducted",
        worst_case="123456.78 EUR",
        make=_maker("return_refund_estimate"),
    ),
]


# --- the return_open hold ------------------------------------------------------------------------------------


def return_open_holds(messages: list, *, now: dt.datetime) -> dict[int, Hold]:
    """Held while the message's order has a return in progress (one query per batch)."""
    from returns.models import ReturnRequest

    order_ids = {message.order_id for message in messages if message.order_id}
    if not order_ids:
        return {}
    open_returns = dict(
        ReturnRequest.objects.filter(order_id__in=order_ids, status__in=ReturnRequest.OPEN)
        .order_by("created_at")
        .values_list("order_id", "number")
    )
    return {
        message.pk: Hold(_("return %s of the order is in progress") % open_returns[message.order_id])
        for message in messages
        if message.order_id in open_returns
    }


RETURN_OPEN_HOLD = HoldSpec(name="return_open", label="A return of the order is in progress", find=return_open_holds)

"""What disputes add to journeys: the `dispute_opened` trigger, its `{{ dispute_return_url }}` value, and the
`dispute_open` hold (registered from returns.wiring.disputes_wire; journeys never imports returns).

`dispute_opened` is planned by returns.services.disputes when a dispute is recorded: transactional guidance
to the customer (we saw a payment dispute on your order; if something went wrong, we can solve it faster
directly). Its copy offers the return portal through `{{ dispute_return_url }}`, which is the portal link
(`links.return_portal`) when that link is registered and applies to the message, and "" otherwise, so the
shipped copy works whether or not the portal is installed.

The `dispute_open` hold keeps review requests (and other messages that wait for it) of a customer with an
open dispute from going out until it closes.
"""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journeys.context import ValueSpec, links_all
from journeys.holds import Hold, HoldSpec
from journeys.triggers import Kind, TriggerSpec

RETURN_PORTAL_LINK = "return_portal"

DISPUTE_OPENED = TriggerSpec(
    name="dispute_opened",
    label=gettext_lazy("Dispute guidance"),
    description=gettext_lazy(
        "Sent when a payment dispute (chargeback or inquiry) is recorded: tells the customer the shop saw it and "
        "can usually solve the problem faster directly (a reply, or a return when the return portal is on)."
    ),
    kind=Kind.EXTERNAL,
    anchor_label=gettext_lazy("dispute recorded"),
    default_channel="email",
    default_fallback_channel="sms",
    default_expire_after_hours=72,
    in_default_rule_set=False,
    holdout_allowed=False,  # a customer disputing a payment is always offered the direct way
)
DISPUTE_TRIGGER_SPECS = (DISPUTE_OPENED,)


def dispute_step(dispute_id: int) -> str:
    return f"dispute-{dispute_id}"


def _return_url(message) -> str:
    if message.trigger != DISPUTE_OPENED.name:
        return ""
    spec = links_all().get(RETURN_PORTAL_LINK)
    if spec is None:
        return ""
    try:
        return spec.make(message) or ""
    except Exception:  # a link another app makes must not stop the guidance from going out
        return ""


DISPUTE_VALUES = [
    ValueSpec(
        name="dispute_return_url",
        description="Dispute guidance: the return portal link of the order (empty when the portal is not on)",
        worst_case="https://care.schwarzwald-outdoor.example/returns/" + "x" * 90,
        make=_return_url,
    ),
]


def dispute_open_holds(messages: list, *, now: dt.datetime) -> dict[int, Hold]:
    """Held while the customer has an open dispute (any order): one query per batch."""
    from returns.models import Dispute

    customer_ids = {message.customer_id for message in messages if message.customer_id}
    if not customer_ids:
        return {}
    open_disputes = (
        Dispute.objects.filter(customer_id__in=customer_ids, status__in=Dispute.OPEN)
        .order_by("due_at")
        .values_list("customer_id", "provider", "external_id", "pk")
    )
    by_customer: dict[int, str] = {}
    for customer_id, provider, external_id, pk in open_disputes:
        by_customer.setdefault(customer_id, f"{provider} {external_id or pk}")
    return {
        message.pk: Hold(_("the customer has an open payment dispute (%s)") % by_customer[message.customer_id])
        for message in messages
        if message.customer_id in by_customer
    }


DISPUTE_OPEN_HOLD = HoldSpec(
    name="dispute_open", label="The customer has an open payment dispute", find=dispute_open_holds
)

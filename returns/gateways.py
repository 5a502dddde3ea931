"""Refund gateways: what actually moves the money of a Refund, behind one small interface.

`refund_process` calls a gateway OUTSIDE any database transaction, once per Refund row, with an
idempotency key derived from the row (a failed refund is never retried on its row, so one key is one
attempt). Two gateways ship:

- `manual`: the money moved outside this system (a bank transfer, the payment provider's own
  dashboard, cash). Staff enter the reference of that movement; without one nothing is recorded.
- `store_credit`: the customer's credit with the shop; succeeds at once.

A real payment provider is one class with `name`, `label`, `needs_reference = False` and a
`refund(refund, idempotency_key)` that calls the provider with that key (Stripe and Shopify both
keep keys at least a day), registered with `gateway_register(Gateway(), methods=[...])` from an
app's `ready()`. It returns a GatewayResult, or raises for an answer it could not read (a
timeout): the refund then stays `processing` until the provider's webhook says what happened.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from returns.models.policy import RefundMethod

if TYPE_CHECKING:
    from returns.models import Refund


@dataclass(frozen=True)
class GatewayResult:
    reference: str
    succeeded: bool
    error: str = ""


class RefundGateway(Protocol):
    name: str
    label: str
    # Staff enter the reference of a movement made elsewhere (offline gateways).
    needs_reference: bool

    def refund(self, refund: "Refund", idempotency_key: str) -> GatewayResult: ...


class ManualGateway:
    """Money sent outside this system; the row records the reference staff entered when processing it."""

    name = "manual"
    label = gettext_lazy("Manual (bank transfer, payment provider's dashboard, cash)")
    needs_reference = True

    def refund(self, refund: "Refund", idempotency_key: str) -> GatewayResult:
        reference = refund.reference.strip()
        if not reference:
            return GatewayResult("", False, _("A manual refund needs the reference of the money sent."))
        return GatewayResult(reference, True)


class StoreCreditGateway:
    """Credit with the shop: nothing leaves, so it succeeds at once; the reference names the credit."""

    name = "store_credit"
    label = gettext_lazy("Store credit")
    needs_reference = False

    def refund(self, refund: "Refund", idempotency_key: str) -> GatewayResult:
        return GatewayResult(refund.reference.strip() or f"CREDIT-{refund.pk}", True)


class PlatformGateway:
    """A refund the shop made on its platform (Shopify) that reached us by webhook: recorded, never paid here."""

    needs_reference = False

    def __init__(self, name: str, label: str) -> None:
        self.name, self.label = name, label

    def refund(self, refund: "Refund", idempotency_key: str) -> GatewayResult:
        return GatewayResult("", False, _("Refunds of %(platform)s are made there.") % {"platform": self.label})


_gateways: dict[str, RefundGateway] = {}
# The gateway a new refund of each method goes through. Original payment is manual until a provider is added.
_method_gateways: dict[str, str] = {}
# Gateways whose refunds were made on the shop's platform and only recorded here.
PLATFORM_GATEWAYS = frozenset({"shopify"})


def gateway_register(gateway: RefundGateway, *, methods: tuple[str, ...] | list[str] = ()) -> RefundGateway:
    """Make `gateway` known by its name and, for each of `methods`, the one new refunds of that method use."""
    _gateways[gateway.name] = gateway
    for method in methods:
        _method_gateways[method] = gateway.name
    return gateway


def gateway_get(name: str) -> RefundGateway:
    try:
        return _gateways[name]
    except KeyError:
        raise LookupError(f"No refund gateway named “{name}” is registered.") from None


def gateway_for_method(method: str) -> RefundGateway:
    return gateway_get(_method_gateways.get(method, ManualGateway.name))


def gateway_idempotency_key(refund: "Refund") -> str:
    """The key a provider sees for this row's one attempt: stable across retries of the same call."""
    return f"refund-{refund.shop_id}-{refund.pk}"


def gateways_register_defaults() -> None:
    gateway_register(ManualGateway(), methods=[RefundMethod.ORIGINAL_PAYMENT, RefundMethod.MANUAL])
    gateway_register(StoreCreditGateway(), methods=[RefundMethod.STORE_CREDIT])
    gateway_register(PlatformGateway("shopify", "Shopify"))

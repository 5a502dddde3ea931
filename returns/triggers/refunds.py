"""Values of the `refund_processed` message (journeys.context.value_register): how and when the money arrives.

`{{ refund_method }}`: how THIS refund went back, as a phrase that fits the shipped copy's sentence
("to your original payment method", "as store credit"); `{{ refund_timing }}`: when the customer sees it
("within 5–10 business days", "now"). The amount is journeys' own `{{ refund.amount_display }}`, read from
the same order event, so all three are the figures of one refund. The refund is found from the message's
step ("event-<order event id>") and that event's `refund_reference`; a refund recorded by the platform
or the API, not made here, answers "" and the copy falls back to its general words.

The phrases are message copy, kept per language here as `journeys.sms_copy` keeps its own (the shipped
templates are per language too); other languages get English.
"""

from journeys.context import ValueSpec, value_register
from returns.gateways import PLATFORM_GATEWAYS
from returns.models import RefundMethod

TRIGGER = "refund_processed"
M = RefundMethod
METHOD_WORDS: dict[str, dict[str, str]] = {
    "en": {
        M.ORIGINAL_PAYMENT: "to your original payment method",
        M.STORE_CREDIT: "as store credit",
        M.MANUAL: "by bank transfer",
    },
    "de": {
        M.ORIGINAL_PAYMENT: "auf Ihr ursprüngliches Zahlungsmittel",
        M.STORE_CREDIT: "als Guthaben in unserem Shop",
        M.MANUAL: "per Banküberweisung",
    },
    "ru": {
        M.ORIGINAL_PAYMENT: "на исходный способ оплаты",
        M.STORE_CREDIT: "на баланс в нашем магазине",
        M.MANUAL: "банковским переводом",
    },
    "ko": {M.ORIGINAL_PAYMENT: "원래 결제 수단으로", M.STORE_CREDIT: "스토어 적립금으로", M.MANUAL: "계좌 이체로"},
    "zh-hans": {M.ORIGINAL_PAYMENT: "退回原支付方式", M.STORE_CREDIT: "退至店铺余额", M.MANUAL: "通过银行转账退还"},
}
# Card and bank refunds take the banks' time; store credit is there at once.
TIMING_WORDS: dict[str, dict[str, str]] = {
    "en": {"bank": "within 5–10 business days", "now": "now"},
    "de": {"bank": "innerhalb von 5–10 Werktagen", "now": "ab sofort"},
    "ru": {"bank": "в течение 5–10 рабочих дней", "now": "сразу"},
    "ko": {"bank": "영업일 기준 5~10일 이내에", "now": "지금 바로"},
    "zh-hans": {"bank": "5–10个工作日内", "now": "立即"},
}
del M


def _refund_of(message):
    """The refund a refund_processed message is about, or None; cached on the message for its three values."""
    cached = getattr(message, "_returns_refund", False)
    if cached is not False:
        return cached
    refund = None
    parts = (message.step or "").split("-")
    if message.order_id and len(parts) == 2 and parts[0] == "event" and parts[1].isdigit():
        from merchant.models import OrderEvent
        from returns.selectors.refunds import refund_of_order_event

        reference = (
            OrderEvent.objects.filter(pk=int(parts[1]), order_id=message.order_id)
            .values_list("details__refund_reference", flat=True)
            .first()
        )
        refund = refund_of_order_event(order_id=message.order_id, reference=reference or "")
        if refund is not None and (refund.gateway in PLATFORM_GATEWAYS or refund.gateway == "recorded"):
            refund = None  # made elsewhere: we do not know how it went back
    message._returns_refund = refund
    return refund


def _words(table: dict[str, dict[str, str]], language: str) -> dict[str, str]:
    return table.get(language) or table["en"]


def _method(message) -> str:
    if message.trigger != TRIGGER:
        return ""
    refund = _refund_of(message)
    return _words(METHOD_WORDS, message.language).get(refund.method, "") if refund else ""


def _timing(message) -> str:
    if message.trigger != TRIGGER:
        return ""
    refund = _refund_of(message)
    if refund is None:
        return ""
    return _words(TIMING_WORDS, message.language)["now" if refund.method == RefundMethod.STORE_CREDIT else "bank"]


REFUND_VALUES = [
    ValueSpec(
        name="refund_method",
        description="Refund processed: how the refund went back (“to your original payment method”)",
        worst_case="auf Ihr ursprüngliches Zahlungsmittel",
        make=_method,
    ),
    ValueSpec(
        name="refund_timing",
        description="Refund processed: when the customer sees the money (“within 5–10 business days”, “now”)",
        worst_case="innerhalb von 5–10 Werktagen",
        make=_timing,
    ),
]


def refund_values_register() -> None:
    for spec in REFUND_VALUES:
        value_register(spec)

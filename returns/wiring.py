"""What returns registers with merchant and journeys at start-up, one function per sub-domain.

Each function is idempotent (registries replace an entry registered again), so tests may call them
again after a test removed a registration.
"""


def requests_wire() -> None:
    """Return requests: their triggers and template links, the `return_open` hold, order listeners."""


def refunds_wire() -> None:
    """Refunds: the gateways, the values of the refund message (method, timing), the order listener that
    mirrors refunds recorded elsewhere, and the Shopify handlers that reconcile them with refunds made here."""
    from merchant.order_listeners import register_in_transaction
    from returns.gateways import gateways_register_defaults
    from returns.services.refund_platform import refund_mirror_from_order_event, refund_platform_wire
    from returns.triggers.refunds import refund_values_register

    gateways_register_defaults()
    refund_values_register()
    register_in_transaction(refund_mirror_from_order_event)
    refund_platform_wire()


def disputes_wire() -> None:
    """Disputes: the Shopify disputes webhooks, the `dispute_opened` trigger, the `dispute_open` hold."""


def cases_wire() -> None:
    """The support queue: the hand-off handler (merchant.support_handoff), reply and survey triggers."""


def auto_reply_wire() -> None:
    """Customer messages (SMS replies, email) into the queue, answered outside business hours."""


def returns_wire() -> None:
    requests_wire()
    refunds_wire()
    disputes_wire()
    cases_wire()
    auto_reply_wire()

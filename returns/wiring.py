"""What returns registers with merchant and journeys at start-up, one function per sub-domain.

Each function is idempotent (registries replace an entry registered again), so tests may call them
again after a test removed a registration.
"""


def requests_wire() -> None:
    """Return requests: their triggers and template links, the `return_open` hold, order listeners."""


def refunds_wire() -> None:
    """Refunds: template values of the refund message (amount, method, timing)."""


def disputes_wire() -> None:
    """Disputes: the Shopify disputes webhooks, the `dispute_opened` trigger, the `dispute_open` hold."""
    from journeys.context import value_register
    from journeys.holds import hold_register
    from journeys.triggers import trigger_register
    from merchant import shop_listeners
    from returns.platforms.shopify_disputes import shopify_disputes_register
    from returns.triggers.disputes import DISPUTE_OPEN_HOLD, DISPUTE_TRIGGER_SPECS, DISPUTE_VALUES

    for spec in DISPUTE_TRIGGER_SPECS:
        trigger_register(spec)
    for value in DISPUTE_VALUES:
        value_register(value)
    hold_register(DISPUTE_OPEN_HOLD)
    shopify_disputes_register()
    shop_listeners.register_on_created(_dispute_rules_for_new_shop)


def _dispute_rules_for_new_shop(shop, *, is_demo: bool = False) -> None:
    from returns.services.disputes import dispute_rules_ensure

    dispute_rules_ensure(shop=shop)


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

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


def cases_wire() -> None:
    """The support queue: the hand-off handler (merchant.support_handoff), reply and survey triggers with their
    rules for every new shop, and the demo's cases."""
    from merchant.demo import register_demo_step
    from merchant.shop_listeners import register_on_created
    from merchant.support_handoff import handler_register
    from returns.demo_cases import cases_demo_step
    from returns.services.cases import case_from_handoff
    from returns.triggers.cases import case_rules_ensure, case_triggers_register

    case_triggers_register()
    handler_register(case_from_handoff)
    register_on_created(case_rules_ensure)
    register_demo_step(cases_demo_step)


def auto_reply_wire() -> None:
    """Customer messages (SMS replies, email) into the queue, answered outside business hours."""


def returns_wire() -> None:
    requests_wire()
    refunds_wire()
    disputes_wire()
    cases_wire()
    auto_reply_wire()

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
    """The support queue: the hand-off handler (merchant.support_handoff), reply and survey triggers."""


def auto_reply_wire() -> None:
    """Customer messages (SMS replies, email) into the queue, answered outside business hours."""
    from journeys import inbound_listeners
    from merchant import shop_listeners
    from merchant.demo import register_demo_step
    from merchant.services.inbound import handles, json_body
    from returns.services.auto_reply import auto_reply_setup_for_shop, faq_demo_create, sms_text_file
    from returns.services.inbound_email import SOURCE, TOPIC, inbound_email_apply
    from returns.triggers.auto_reply import auto_reply_trigger_register

    auto_reply_trigger_register()
    inbound_listeners.register(sms_text_file)
    handles(SOURCE, TOPIC, parse=json_body)(inbound_email_apply)
    shop_listeners.register_on_created(auto_reply_setup_for_shop)
    register_demo_step(faq_demo_create)


def returns_wire() -> None:
    requests_wire()
    refunds_wire()
    disputes_wire()
    cases_wire()
    auto_reply_wire()

"""What returns registers with merchant and journeys at start-up, one function per sub-domain.

Each function is idempotent (registries replace an entry registered again), so tests may call them
again after a test removed a registration.
"""


def requests_wire() -> None:
    """Return requests: their triggers, template links and values, the `return_open` hold, the new-shop listener
    (return policy and the rules of return messages), "Start a return" on the order status page and the demo
    shop's returns."""
    from journeys.context import link_register, value_register
    from journeys.holds import hold_register
    from journeys.status.actions import status_action_register
    from journeys.triggers import trigger_register
    from merchant import demo, shop_listeners
    from returns.links.portal import RETURN_PORTAL_LINK, RETURN_STATUS_ACTION
    from returns.services.policy import returns_setup_for_shop
    from returns.services.requests.demo import returns_demo_seed
    from returns.triggers.requests import RETURN_OPEN_HOLD, RETURN_TRIGGER_SPECS, RETURN_VALUES

    for spec in RETURN_TRIGGER_SPECS:
        trigger_register(spec)
    link_register(RETURN_PORTAL_LINK)
    status_action_register(RETURN_STATUS_ACTION)
    for value in RETURN_VALUES:
        value_register(value)
    hold_register(RETURN_OPEN_HOLD)
    shop_listeners.register_on_created(returns_setup_for_shop)
    demo.register_demo_step(returns_demo_seed)


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
    """The support queue: the hand-off handler (merchant.support_handoff), reply and survey triggers with their
    rules for every new shop, the listener flagging customers who keep checking their order (journeys.status),
    and the demo's cases, with past weeks of decided disputes and answered cases for the dashboard."""
    from journeys.status import listeners as status_listeners
    from merchant.demo import register_demo_step
    from merchant.shop_listeners import register_on_created
    from merchant.support_handoff import handler_register
    from returns.demo_cases import cases_demo_step
    from returns.demo_history import support_history_demo_step
    from returns.services.cases import case_from_handoff
    from returns.services.status_checks import case_flag_status_checks
    from returns.triggers.cases import case_rules_ensure, case_triggers_register

    case_triggers_register()
    handler_register(case_from_handoff)
    status_listeners.register(case_flag_status_checks)
    register_on_created(case_rules_ensure)
    register_demo_step(cases_demo_step)
    register_demo_step(support_history_demo_step)


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


def insight_wire() -> None:
    """The dashboard's voice of the customer: return and dispute reasons per product, the dispute win rate and
    the support queue's SLA attainment."""
    from returns.selectors.voice import returns_voice_register

    returns_voice_register()


def returns_wire() -> None:
    requests_wire()
    refunds_wire()
    disputes_wire()
    cases_wire()
    auto_reply_wire()
    insight_wire()

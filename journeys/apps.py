from django.apps import AppConfig


class JourneysConfig(AppConfig):
    """Order-care rules, message templates, the outbox, channels, consent and campaigns."""

    name = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from anymail.signals import tracking

        from journeys.campaigns.demo import campaigns_demo_seed
        from journeys.consent_policy import country_message_classes_default_create
        from journeys.context import link_register
        from journeys.insight.pages import insight_page_register
        from journeys.insight.voice_page import VOICE_PAGE
        from journeys.selectors import (
            consent_timeline_entries,
            inbound_sms_timeline_entries,
            message_timeline_entries,
        )
        from journeys.services import callbacks, inbound_sms  # noqa: F401 - register their Twilio inbound handlers
        from journeys.services.email_events import email_tracking_received  # also registers its inbound handler
        from journeys.services.planning import order_event_plan
        from journeys.services.rules import care_rules_default_create
        from journeys.services.unsubscribe import UNSUBSCRIBE_LINK
        from merchant import demo, order_listeners, shop_listeners, timeline

        order_listeners.register_in_transaction(order_event_plan)
        shop_listeners.register_on_created(care_rules_default_create)
        shop_listeners.register_on_created(country_message_classes_default_create)
        timeline.register_timeline_source(message_timeline_entries)
        timeline.register_timeline_source(consent_timeline_entries)
        timeline.register_timeline_source(inbound_sms_timeline_entries)
        tracking.connect(email_tracking_received, dispatch_uid="journeys.email_events")
        link_register(UNSUBSCRIBE_LINK)
        demo.register_demo_step(campaigns_demo_seed)
        insight_page_register(VOICE_PAGE)

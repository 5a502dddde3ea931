from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    """Order-care rules, message templates, the outbox, channels, consent and campaigns."""

    name = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from anymail.signals import tracking

        from journeys.campaigns.demo import campaigns_demo_seed
        from journeys.consent_policy import country_message_classes_default_create
        from journeys.context import link_register
        from journeys.demo import care_history_demo_seed
        from journeys.insight.journey import journey_defaults_register
        from journeys.insight.journey_views import journey_map_view, journey_stage_orders_view
        from journeys.insight.outcomes import journeys_outcomes_register
        from journeys.insight.pages import InsightPage, insight_page_register
        from journeys.insight.rules_page import RULES_PAGE
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
        from journeys.status.wiring import status_wire
        from merchant import demo, order_listeners, shop_listeners, timeline
        from merchant.admin_site import AdminPage, admin_page_register

        order_listeners.register_in_transaction(order_event_plan)
        shop_listeners.register_on_created(care_rules_default_create)
        shop_listeners.register_on_created(country_message_classes_default_create)
        timeline.register_timeline_source(message_timeline_entries)
        timeline.register_timeline_source(consent_timeline_entries)
        timeline.register_timeline_source(inbound_sms_timeline_entries)
        tracking.connect(email_tracking_received, dispatch_uid="journeys.email_events")
        link_register(UNSUBSCRIBE_LINK)
        demo.register_demo_step(campaigns_demo_seed)
        demo.register_demo_step(care_history_demo_seed)
        # The journey map is the admin's landing page; each of its stages lists its orders.
        journey_defaults_register()
        insight_page_register(
            InsightPage(
                name="insight_journey",
                title=_("Journey map"),
                route="insight/journey/",
                view=journey_map_view,
                position=10,
                is_index=True,
            )
        )
        admin_page_register(
            AdminPage(
                route="insight/journey/<slug:stage>/", view=journey_stage_orders_view, name="insight_journey_stage"
            )
        )
        status_wire()
        insight_page_register(RULES_PAGE)
        journeys_outcomes_register()
        insight_page_register(VOICE_PAGE)

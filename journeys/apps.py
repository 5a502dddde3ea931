from django.apps import AppConfig


class JourneysConfig(AppConfig):
    """Order-care rules, message templates, the outbox, channels, consent and campaigns."""

    name = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from journeys.selectors import message_timeline_entries
        from journeys.services.planning import order_event_plan
        from journeys.services.rules import care_rules_default_create
        from merchant import order_listeners, shop_listeners, timeline

        order_listeners.register_in_transaction(order_event_plan)
        shop_listeners.register_on_created(care_rules_default_create)
        timeline.register_timeline_source(message_timeline_entries)

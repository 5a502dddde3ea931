from django.apps import AppConfig


class JourneysConfig(AppConfig):
    """Order-care rules, message templates, the outbox, channels, consent and campaigns."""

    name = "journeys"
    verbose_name = "Journeys"

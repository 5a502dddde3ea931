"""Providers by channel, chosen in settings (JOURNEYS_SMS_PROVIDER, JOURNEYS_EMAIL_PROVIDER, JOURNEYS_PUSH_PROVIDER).

console: records the message as sent and logs it (the development default for SMS, so `make run`
shows the engine working without an account). django: email through Django's email backend.
twilio: SMS over Twilio's REST API. webpush: browser notifications through Web Push (pywebpush).
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from journeys.providers.base import Provider


def provider_for_channel(channel: str) -> Provider:
    name = getattr(settings, f"JOURNEYS_{channel.upper()}_PROVIDER", "console")
    if name == "console":
        from journeys.providers.console import ConsoleProvider

        return ConsoleProvider(channel=channel)
    if name == "django" and channel == "email":
        from journeys.providers.email import DjangoEmailProvider

        return DjangoEmailProvider()
    if name == "twilio" and channel == "sms":
        from journeys.providers.twilio import twilio_provider_from_settings

        return twilio_provider_from_settings()
    if name == "webpush" and channel == "push":
        from journeys.providers.webpush import WebPushProvider

        return WebPushProvider()
    raise ImproperlyConfigured(f"JOURNEYS_{channel.upper()}_PROVIDER={name!r} is not a provider for {channel}.")

"""A provider that sends nothing: it logs the message and records it as sent.

The development default, so the outbox shows the engine working on a machine without accounts.
"""

import logging

from journeys.providers.base import Envelope, Outcome, Provider, SendResult

logger = logging.getLogger("journeys.console")


class ConsoleProvider(Provider):
    deduplicates = True  # nothing leaves the machine, so a resend duplicates nothing

    def __init__(self, *, channel: str) -> None:
        self.channel = channel
        self.name = f"console-{channel}"

    def send(self, envelope: Envelope) -> SendResult:
        logger.info("%s to %s: %s", envelope.channel.upper(), envelope.to, envelope.subject or envelope.body[:200])
        return SendResult(Outcome.SENT, provider_message_id=f"console-{envelope.message_id}")

"""Who hears about texts customers send that need a person, without journeys knowing them.

journeys stores every text a customer sends (`journeys.services.inbound_sms`). Keywords (STOP,
START, HELP) are handled on arrival and nobody else hears of them. A reply or a loosely worded
opt-out waits for a person: the support queue (returns) registers a listener here from its
`AppConfig.ready()` and files it (DESIGN.md §2: journeys never imports returns).

A listener is called once per text received, with the rows stored for it (one per customer of the
shop with the sender's number, or one without a customer for an unknown number), inside the
transaction that stored them. Each listener runs in a savepoint: its rows commit with the text, and
a listener that fails rolls back only its own work and is logged; the text is never lost. Each text
is stored, and its listeners called, once: Twilio's repeated deliveries are deduplicated before.
"""

import logging
from collections.abc import Callable, Sequence

from django.db import transaction

logger = logging.getLogger(__name__)

# (the rows stored for one text) -> None
Listener = Callable[[Sequence], None]

_listeners: list[Listener] = []


def register(listener: Listener) -> Listener:
    """Hear about texts that need a person. Registering the same function again changes nothing."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def unregister(listener: Listener) -> None:
    """Stop `listener` hearing about texts (a test tidying up)."""
    if listener in _listeners:
        _listeners.remove(listener)


def listeners_all() -> list[Listener]:
    return list(_listeners)


def listeners_notify(texts: Sequence) -> int:
    """Tell every listener about one received text (its `InboundSms` rows). Returns how many succeeded.

    Each runs in a savepoint of the caller's transaction; a failure is logged and leaves the text as it was.
    """
    succeeded = 0
    for listener in list(_listeners):
        try:
            with transaction.atomic():
                listener(texts)
        except Exception:
            logger.exception(
                "Inbound text listener %s failed on text %s; the text is kept.",
                getattr(listener, "__qualname__", listener),
                [text.pk for text in texts],
            )
            continue
        succeeded += 1
    return succeeded

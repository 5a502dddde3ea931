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

from collections.abc import Callable, Sequence

from journeys.listener_lists import ListenerList

# (the rows stored for one text) -> None
Listener = Callable[[Sequence], None]

_listeners = ListenerList(what="Inbound text", describe=lambda texts: f"text {[text.pk for text in texts]}")

# Hear about texts that need a person; stop hearing (a test tidying up); who hears.
register = _listeners.register
unregister = _listeners.unregister
listeners_all = _listeners.all
# Tell every listener about one received text (its `InboundSms` rows); returns how many succeeded.
listeners_notify = _listeners.notify

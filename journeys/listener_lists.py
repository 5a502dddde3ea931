"""A list of listeners other apps register from their `AppConfig.ready()`, told in savepoints.

journeys tells apps it does not know (DESIGN.md §2) about things that happened inside one of its
transactions: a text a customer sent that needs a person (`journeys.inbound_listeners`), a customer
who keeps checking their order (`journeys.status.listeners`). Each listener runs in a savepoint of
the caller's transaction: its rows commit with what journeys stored, and a listener that fails rolls
back only its own work and is logged; what journeys stored is kept all the same.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


class ListenerList:
    def __init__(self, *, what: str, describe: Callable[[Any], str]):
        self._what = what  # e.g. "Inbound text", for the log
        self._describe = describe  # (event) -> what the log names, e.g. the text's ids
        self._listeners: list[Callable[[Any], None]] = []

    def register(self, listener: Callable[[Any], None]) -> Callable[[Any], None]:
        """Hear about the events. Registering the same function again changes nothing."""
        if listener not in self._listeners:
            self._listeners.append(listener)
        return listener

    def unregister(self, listener: Callable[[Any], None]) -> None:
        """Stop `listener` hearing about the events (a test tidying up)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def all(self) -> list[Callable[[Any], None]]:
        return list(self._listeners)

    def notify(self, event: Any) -> int:
        """Tell every listener about one event, each in a savepoint. Returns how many succeeded."""
        succeeded = 0
        for listener in list(self._listeners):
            try:
                with transaction.atomic():
                    listener(event)
            except Exception:
                logger.exception(
                    "%s listener %s failed on %s; what was stored is kept.",
                    self._what,
                    getattr(listener, "__qualname__", listener),
                    self._describe(event),
                )
                continue
            succeeded += 1
        return succeeded

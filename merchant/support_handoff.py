"""Cases that need a person, handed to the support queue without the apps knowing each other.

reviews finds unhappy customers (a review of 1-2 stars, an NPS score of 0-6); the support queue
lives in returns. Neither imports the other (DESIGN.md §2): the queue registers one handler here
from its `AppConfig.ready()`, and the app that found a case offers it with `handoff_offer()`.
Until a handler is registered nothing is handed over, and the finding app keeps the case in its
own list (reviews: *Needs attention*).

The handler runs inside the caller's transaction, in a savepoint: its rows commit with the case
that caused them, and a handler that fails rolls back only its own work (the case stays with the
app that found it; the failure is logged). It must be idempotent per `PersonNeeded.source`: the
same case may be offered again (an admin action hands over older cases once a queue exists).
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonNeeded:
    shop_id: int
    source: str  # the case's stable reference where it was found, e.g. "reviews.attentionitem:42"
    kind: str  # what it is about, e.g. "low_rating", "detractor"
    summary: str
    due_at: dt.datetime  # answer the customer by then
    customer_id: int | None = None
    order_id: int | None = None
    admin_path: str = ""  # where a person sees the details, e.g. /admin/reviews/review/7/change/


# (case) -> the queue's reference of the case it opened or found, e.g. "case:17".
Handler = Callable[[PersonNeeded], str]

_handler: Handler | None = None


def handler_register(handler: Handler) -> Handler:
    """Make `handler` the support queue. Registering again replaces it (app reloads in tests)."""
    global _handler
    _handler = handler
    return handler


def handler_unregister(handler: Handler | None = None) -> None:
    """Remove the queue (`handler`, when given, only if it is the one registered)."""
    global _handler
    if handler is None or _handler is handler:
        _handler = None


def handler_registered() -> bool:
    return _handler is not None


def handoff_offer(case: PersonNeeded) -> str | None:
    """Hand `case` to the support queue. Returns the queue's reference, or None when no queue is registered
    or it could not take the case (logged): then the caller keeps the case in its own list."""
    handler = _handler
    if handler is None:
        return None
    try:
        with transaction.atomic():
            reference = handler(case)
    except Exception:
        logger.exception("The support queue could not take %s; it stays where it was found.", case.source)
        return None
    return str(reference)[:100] if reference else None

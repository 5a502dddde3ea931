"""Lets other apps react to order changes without merchant importing them.

journeys registers its planner here from `AppConfig.ready()`: in-transaction listeners run
inside the transition's transaction (so planned messages commit or roll back with the order),
after-commit listeners run once the transaction has committed and receive ids only.
"""

from collections.abc import Callable
from functools import partial

from django.db import transaction

InTransactionListener = Callable[..., None]  # (order, event) -> None
AfterCommitListener = Callable[..., None]  # (order_id=..., event_id=...) -> None

_in_transaction: list[InTransactionListener] = []
_after_commit: list[AfterCommitListener] = []


def register_in_transaction(listener: InTransactionListener) -> InTransactionListener:
    if listener not in _in_transaction:
        _in_transaction.append(listener)
    return listener


def register_after_commit(listener: AfterCommitListener) -> AfterCommitListener:
    if listener not in _after_commit:
        _after_commit.append(listener)
    return listener


def unregister(listener: Callable[..., None]) -> None:
    for registry in (_in_transaction, _after_commit):
        if listener in registry:
            registry.remove(listener)


def notify(order, event) -> None:
    """Call in-transaction listeners now and schedule after-commit ones. Caller holds the transaction."""
    for listener in list(_in_transaction):
        listener(order, event)
    for listener in list(_after_commit):
        transaction.on_commit(partial(listener, order_id=order.pk, event_id=event.pk))

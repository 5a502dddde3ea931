"""Every transition table of returns, exhaustively: each allowed move is made and audited, every other refused."""

import itertools

import pytest

from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from returns.models import Case, Dispute, Refund, ReturnRequest
from returns.tests.factories import CaseFactory, DisputeFactory, RefundFactory, ReturnRequestFactory
from returns.transitions import status_move

AGGREGATES = [
    (ReturnRequest, ReturnRequestFactory),
    (Refund, RefundFactory),
    (Dispute, DisputeFactory),
    (Case, CaseFactory),
]
CASES = [
    pytest.param(model, factory, source, target, id=f"{model.__name__}:{source}->{target}")
    for model, factory in AGGREGATES
    for source, target in itertools.product(model.Status.values, repeat=2)
]


def test_every_status_has_a_row_in_its_table():
    for model, _ in AGGREGATES:
        assert set(model.TRANSITIONS) == set(model.Status.values), model.__name__
        for targets in model.TRANSITIONS.values():
            assert targets <= set(model.Status.values), model.__name__


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "factory", "source", "target"), CASES)
def test_a_move_is_made_and_audited_exactly_when_the_table_allows_it(model, factory, source, target, shop):
    # Given a row in `source`
    obj = factory(status=source, **({"order__shop": shop}))
    actor = Actor.system("test")
    # When it is asked to move to `target`
    if target in model.TRANSITIONS[source]:
        event = status_move(obj, to=target, actor=actor, note="why")
        # Then it moved, the move is saved and audited with its actor
        obj.refresh_from_db()
        assert obj.status == target
        assert (event.from_status, event.to_status, event.actor_label, event.note) == (source, target, "test", "why")
        assert obj.events.count() == 1
        stamp = getattr(model, "STATUS_TIMESTAMP", {}).get(target)
        if stamp:
            assert getattr(obj, stamp) == event.at
    else:
        with pytest.raises(InvalidTransition):
            status_move(obj, to=target, actor=actor)
        obj.refresh_from_db()
        assert obj.status == source
        assert obj.events.count() == 0

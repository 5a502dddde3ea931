"""Values another app adds to the template context (`journeys.context.value_register`): known to validation and
to the SMS worst case, rendered per message, and never shadowing the fixed context."""

import pytest

import journeys.context
from journeys.context import ValueSpec, context_names, context_worst_case, value_register, values_all
from journeys.rendering import template_problems


@pytest.fixture
def registered():
    before = values_all()
    spec = value_register(
        ValueSpec(name="parcel_note", description="A note", worst_case="N" * 50, make=lambda message: "x")
    )
    yield spec
    journeys.context._values.clear()
    journeys.context._values.update(before)


def test_a_registered_value_is_known_to_templates_and_to_the_worst_case(registered):
    assert "parcel_note" in context_names()
    assert template_problems("Note: {{ parcel_note }}") == []
    assert context_worst_case()["parcel_note"] == "N" * 50


def test_an_unregistered_name_is_still_refused():
    assert template_problems("{{ parcel_note_typo }}")


def test_a_name_of_the_fixed_context_cannot_be_taken():
    with pytest.raises(ValueError, match="fixed context"):
        value_register(ValueSpec(name="order", description="", worst_case="", make=lambda message: ""))

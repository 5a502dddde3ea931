"""A template value several apps register, each for its own triggers (reviews' and the support queue's
`staff_message`): each message gets the words of the app its trigger belongs to."""

from types import SimpleNamespace

import pytest

from journeys.context import ValueSpec, value_register, values_all


@pytest.fixture
def restore_values():
    from journeys import context

    saved_values, saved_parts = dict(context._values), {k: dict(v) for k, v in context._value_parts.items()}
    yield
    context._values.clear()
    context._values.update(saved_values)
    context._value_parts.clear()
    context._value_parts.update(saved_parts)


def message(trigger: str):
    return SimpleNamespace(trigger=trigger, step="", shop_id=1)


def test_each_trigger_gets_the_words_of_the_app_that_registered_it(restore_values):
    # Given two apps registering the same value for their own triggers
    value_register(ValueSpec("shared_words", "A's words", "a" * 10, lambda m: "from A", frozenset({"trigger_a"})))
    value_register(ValueSpec("shared_words", "B's words", "b" * 30, lambda m: "from B", frozenset({"trigger_b"})))
    shared = values_all()["shared_words"]
    # Then each message gets its own app's words, any other trigger none
    assert shared.make(message("trigger_a")) == "from A"
    assert shared.make(message("trigger_b")) == "from B"
    assert shared.make(message("shipped")) == ""
    # And the longest worst case stands for both (segment counts, previews)
    assert shared.worst_case == "b" * 30
    assert shared.triggers == {"trigger_a", "trigger_b"}


def test_registering_a_part_again_replaces_only_that_part(restore_values):
    value_register(ValueSpec("shared_words", "A", "a", lambda m: "old A", frozenset({"trigger_a"})))
    value_register(ValueSpec("shared_words", "B", "b", lambda m: "from B", frozenset({"trigger_b"})))
    value_register(ValueSpec("shared_words", "A", "a", lambda m: "new A", frozenset({"trigger_a"})))
    shared = values_all()["shared_words"]
    assert (shared.make(message("trigger_a")), shared.make(message("trigger_b"))) == ("new A", "from B")


def test_a_value_for_every_trigger_replaces_whatever_was_registered(restore_values):
    value_register(ValueSpec("shared_words", "A", "a", lambda m: "from A", frozenset({"trigger_a"})))
    value_register(ValueSpec("shared_words", "all", "x", lambda m: "for all"))
    assert values_all()["shared_words"].make(message("trigger_a")) == "for all"


@pytest.mark.django_db
def test_reviews_and_the_support_queue_both_fill_staff_message():
    from reviews.message_values import REVIEW_VALUES  # noqa: F401  (registered at start-up)

    staff_message = values_all()["staff_message"]
    assert {"review_follow_up", "case_reply"} <= staff_message.triggers
    assert staff_message.make(message("review_follow_up")).startswith("Thank you for telling us")
    assert staff_message.make(message("case_reply")).startswith("Thanks for your patience")


@pytest.mark.django_db
def test_rendering_for_sending_makes_only_the_values_the_copy_uses_and_each_once(restore_values):
    from journeys.services.content import message_content
    from journeys.tests.factories import MessageFactory, MessageTemplateFactory

    calls = {"used": 0, "unused": 0}

    def maker(name):
        def make(message):
            calls[name] += 1
            return f"<{name}>"

        return make

    value_register(ValueSpec("used_value", "used", "x", maker("used")))
    value_register(ValueSpec("unused_value", "unused", "x", maker("unused")))
    template = MessageTemplateFactory(body="{% if used_value %}{{ used_value }} and {{ used_value }}{% endif %}")
    message = MessageFactory(shop=template.rule.shop, rule=template.rule, channel="sms", language="en")

    content = message_content(message)

    assert content.body == "<used> and <used>"
    assert calls == {"used": 1, "unused": 0}

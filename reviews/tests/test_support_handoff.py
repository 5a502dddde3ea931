"""Unhappy customers handed to the support queue through `merchant.support_handoff` (returns registers its queue
there later): without a queue the needs-attention list keeps them; with one, each new item goes to it once."""

import pytest
from django.urls import reverse

from merchant.support_handoff import PersonNeeded, handler_register, handler_registered, handler_unregister
from reviews.models import AttentionItem, Review
from reviews.services.submissions import ItemAnswer, NpsAnswer, review_page_submit
from reviews.tests.factories import ReviewRequestItemFactory

pytestmark = pytest.mark.django_db


class FakeQueue:
    """A stand-in for the returns app's support queue: records the cases, idempotent per source."""

    def __init__(self, *, fail: bool = False):
        self.cases: dict[str, PersonNeeded] = {}
        self.fail = fail

    def __call__(self, case: PersonNeeded) -> str:
        if self.fail:
            raise RuntimeError("the queue is down")
        self.cases.setdefault(case.source, case)
        return f"case:{list(self.cases).index(case.source) + 1}"


@pytest.fixture
def queue():
    fake = handler_register(FakeQueue())
    yield fake
    handler_unregister(fake)


@pytest.fixture
def item(review_shop, customer):
    return ReviewRequestItemFactory(request__shop=review_shop, request__customer=customer, title="Wool socks")


def one_star(item) -> Review:
    review_page_submit(
        request=item.request, answers=[ItemAnswer(item_id=item.pk, rating=1, text="Broke.")], nps=NpsAnswer(score=2),
        language="en",
    )  # fmt: skip
    return Review.objects.get(item=item)


def test_without_a_queue_the_items_stay_in_the_needs_attention_list(item):
    assert not handler_registered()
    one_star(item)
    assert set(AttentionItem.objects.values_list("status", flat=True)) == {"open"}


def test_with_a_queue_each_new_item_is_handed_over_once_with_what_a_person_needs(item, queue, review_shop, customer):
    review = one_star(item)
    detractor, low = AttentionItem.objects.order_by("kind")
    assert {low.status, detractor.status} == {"handed_over"}
    assert {low.queue_reference, detractor.queue_reference} == {"case:1", "case:2"}
    case = queue.cases[f"reviews.attentionitem:{low.pk}"]
    assert (case.shop_id, case.kind, case.customer_id, case.order_id) == (
        review_shop.pk, "low_rating", customer.pk, item.request.order_id,
    )  # fmt: skip
    assert case.due_at == low.due_at
    assert case.admin_path == reverse("admin:reviews_review_change", args=[review.pk])
    assert "1/5 · Wool socks · Broke." in case.summary
    # The customer edits the review: still one case.
    review_page_submit(request=item.request, answers=[ItemAnswer(item_id=item.pk, rating=2)], nps=None, language="en")
    assert len(queue.cases) == 2


def test_a_queue_that_fails_leaves_the_item_here_and_the_review_is_stored(item):
    failing = handler_register(FakeQueue(fail=True))
    try:
        review = one_star(item)
    finally:
        handler_unregister(failing)
    assert review.rating == 1
    assert set(AttentionItem.objects.values_list("status", flat=True)) == {"open"}


def test_older_items_are_handed_over_from_the_admin_once_a_queue_exists(client, agent, item):
    one_star(item)
    client.force_login(agent)
    changelist = reverse("admin:reviews_attentionitem_changelist")
    assert "hand_over_items" not in client.get(changelist).content.decode()
    fake = handler_register(FakeQueue())
    try:
        assert "hand_over_items" in client.get(changelist).content.decode()
        ids = list(AttentionItem.objects.values_list("pk", flat=True))
        client.post(changelist, {"action": "hand_over_items", "_selected_action": ids})
        client.post(changelist, {"action": "hand_over_items", "_selected_action": ids})
    finally:
        handler_unregister(fake)
    assert set(AttentionItem.objects.values_list("status", flat=True)) == {"handed_over"}
    assert len(fake.cases) == 2
    # A handed-over item is answered in the queue, not resolved here.
    client.post(changelist, {"action": "resolve_items", "_selected_action": ids})
    assert set(AttentionItem.objects.values_list("status", flat=True)) == {"handed_over"}


def test_unregistering_another_handler_leaves_the_queue_in_place(queue):
    handler_unregister(lambda case: "x")
    assert handler_registered()

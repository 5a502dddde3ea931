"""Moderation: what publishes at once and what waits for a person, hiding only for a reason the FTC rule allows
("negative" is not one), nobody but the customer changing stars or words, and every transition table in full."""

import pytest
from django.core.exceptions import ValidationError

from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from reviews.models import AttentionItem, Review, ReviewRequest
from reviews.screening import names_sentiment, review_flags
from reviews.services.moderation import review_hide, review_publish, review_reply
from reviews.services.submissions import ItemAnswer, review_page_submit
from reviews.tests.factories import ReviewFactory, ReviewRequestItemFactory

pytestmark = pytest.mark.django_db


def flags(text: str, *, regions=("US",)) -> list[str]:
    return [flag.code for flag in review_flags(title="", text=text, regions=list(regions))]


class TestScreening:
    @pytest.mark.parametrize(
        "text",
        [
            "Terrible. Fell apart after two days, worst purchase this year.",
            "Schrecklich, nach zwei Tagen kaputt. Nie wieder!",
            "Ужасно, развалилось через два дня.",
            "최악이에요. 이틀 만에 망가졌어요.",
            "质量太差了，两天就坏了。",
            "Order #1001 arrived on 2026-03-04, 12 pieces, size 42.",
        ],
    )
    def test_honest_words_good_or_bad_publish_at_once(self, text):
        assert flags(text) == []

    @pytest.mark.parametrize(
        ("text", "flag"),
        [
            ("This is shit.", "profanity"),
            ("Totale Scheiße, echt.", "profanity"),
            ("Полная хуйня.", "profanity"),
            ("씨발 진짜 별로", "profanity"),
            ("这个东西真是傻逼设计", "profanity"),
            ("Cheaper at https://other.example/deal", "link"),
            ("better on www.rival-shop.com", "link"),
            ("see cheapsocks.shop for more", "link"),
            ("Call me at (212) 555-0123 about it", "personal_data"),
            ("My number +49 151 23456789", "personal_data"),
            ("write to jamie.rivera@example.com", "personal_data"),
            ("Greaaaaaaaaaaaaat!!!", "spam"),
        ],
    )
    def test_profanity_links_personal_data_and_spam_wait_for_a_person(self, text, flag):
        assert flag in flags(text)

    def test_a_word_containing_a_bad_word_is_not_flagged(self):
        assert flags("Scunthorpe shipping was fast; the assessment was fair.") == []

    def test_the_same_words_twice_is_spam(self, review_shop, customer, products):
        requests = []
        for number in ("#1", "#2"):
            item = ReviewRequestItemFactory(
                request__shop=review_shop, request__customer=customer, request__order__number=number
            )
            requests.append((item.request, item))
        words = "Best socks ever, buy them at once, highly recommended!!"
        for request, item in requests:
            review_page_submit(
                request=request, answers=[ItemAnswer(item_id=item.pk, rating=5, text=words)], nps=None, language="en"
            )
        first, second = Review.objects.order_by("id")
        assert (first.status, first.flags) == ("published", [])
        assert (second.status, second.flags) == ("pending", ["spam"])
        assert second.events.filter(action="flagged").exists()


@pytest.fixture
def request_item(review_shop, customer):
    return ReviewRequestItemFactory(request__shop=review_shop, request__customer=customer, title="Wool socks")


def submit(item, **answer) -> Review:
    review_page_submit(request=item.request, answers=[ItemAnswer(item_id=item.pk, **answer)], nps=None, language="en")
    return Review.objects.get(item=item)


class TestPublishing:
    def test_a_one_star_review_publishes_at_once_and_needs_attention(self, request_item):
        review = submit(request_item, rating=1, text="Holes after a week.")
        assert review.status == "published"
        assert review.published_at is not None
        assert AttentionItem.objects.get().review == review

    def test_a_flagged_review_waits_and_a_person_publishes_it(self, request_item, owner):
        review = submit(request_item, rating=4, text="Great, call me on +1 212 555 0123")
        assert (review.status, review.flags) == ("pending", ["personal_data"])
        assert "+1 212 555 0123" in review.flag_details
        review_publish(review=review, actor=Actor.staff(owner))
        review.refresh_from_db()
        assert review.status == "published"
        event = review.events.get(action="published", actor_kind="user")
        assert (event.actor_user, event.from_status, event.to_status) == (owner, "pending", "published")

    def test_an_edit_that_adds_a_link_waits_again_and_an_edit_that_removes_it_publishes(self, request_item):
        review = submit(request_item, rating=5, text="Lovely.")
        assert review.status == "published"
        review = submit(request_item, rating=5, text="Lovely, cheaper on www.rival-shop.com")
        assert review.status == "pending"
        review = submit(request_item, rating=5, text="Lovely.")
        assert review.status == "published"

    def test_a_review_a_person_hid_stays_hidden_when_the_customer_edits_it(self, request_item, owner):
        review = submit(request_item, rating=2, text="Call 212 555 0123")
        review_hide(review=review, actor=Actor.staff(owner), reason="personal_data", note="A phone number.")
        review = submit(request_item, rating=2, text="Fell apart.")
        assert review.status == "hidden"


class TestHiding:
    @pytest.mark.parametrize("reason", ["negative", "Negative", "bad review", "low rating", "", "whatever"])
    def test_negative_or_unknown_is_not_a_reason(self, request_item, owner, reason):
        review = submit(request_item, rating=1, text="Awful.")
        with pytest.raises(ValidationError) as refused:
            review_hide(review=review, actor=Actor.staff(owner), reason=reason, note="It is bad for sales.")
        assert "reason" in refused.value.message_dict
        review.refresh_from_db()
        assert review.status == "published"

    @pytest.mark.parametrize(
        "note", ["Too negative.", "It is a 1 star review", "negativ, schadet dem Verkauf", "差评", ""]
    )
    def test_a_note_about_sentiment_or_no_note_is_refused(self, request_item, owner, note):
        review = submit(request_item, rating=1, text="Awful.")
        with pytest.raises(ValidationError) as refused:
            review_hide(review=review, actor=Actor.staff(owner), reason="fake", note=note)
        assert "note" in refused.value.message_dict
        review.refresh_from_db()
        assert review.status == "published"

    def test_hiding_for_an_allowed_reason_is_recorded_with_the_person(self, request_item, owner):
        review = submit(request_item, rating=1, text="Awful, ask Maria Schmidt at Main St 5 about it.")
        review_hide(
            review=review, actor=Actor.staff(owner), reason="personal_data", note="Names a person and her address."
        )
        review.refresh_from_db()
        assert (review.status, review.hidden_reason, review.hidden_by) == ("hidden", "personal_data", owner)
        assert review.hidden_note == "Names a person and her address."
        event = review.events.get(action="hidden")
        assert event.actor_label == "owner@alpha.example"
        assert event.note.startswith("Personal data of the customer or someone else: Names a person")
        assert (review.rating, review.text) == (1, "Awful, ask Maria Schmidt at Main St 5 about it.")

    def test_names_sentiment(self):
        assert names_sentiment("negative review")
        assert not names_sentiment("Contains the phone number of a staff member.")


class TestReplies:
    def test_a_reply_changes_nothing_the_customer_wrote(self, request_item, owner):
        review = submit(request_item, rating=2, text="Too small.")
        review_reply(review=review, actor=Actor.staff(owner), text="Sorry! We sent you the next size.")
        review.refresh_from_db()
        assert (review.rating, review.text, review.status) == (2, "Too small.", "published")
        assert (review.reply_text, review.replied_by) == ("Sorry! We sent you the next size.", owner)
        assert review.events.get(action="replied").note == "Sorry! We sent you the next size."


def every_pair(choices):
    return [(source, target) for source in choices for target in choices]


class TestTransitionTables:
    @pytest.mark.parametrize(("source", "target"), every_pair(Review.Status.values))
    def test_review(self, review_shop, owner, source, target):
        review = ReviewFactory(shop=review_shop, status=source, hidden_reason="fake" if source == "hidden" else "")
        allowed = target in Review.TRANSITIONS[source]
        actor = Actor.staff(owner)
        move = {
            "published": lambda: review_publish(review=review, actor=actor),
            "hidden": lambda: review_hide(review=review, actor=actor, reason="fake", note="Never bought it."),
            "pending": None,  # only the customer's flagged edit moves a review back to waiting
        }[target]
        if move is None:
            assert target not in Review.TRANSITIONS[source] or source == "published"
            return
        if allowed:
            move()
            review.refresh_from_db()
            assert review.status == target
        else:
            with pytest.raises(InvalidTransition):
                move()
            review.refresh_from_db()
            assert review.status == source

    @pytest.mark.parametrize(("source", "target"), every_pair(ReviewRequest.Status.values))
    def test_review_request(self, source, target):
        from reviews.services.requests import _request_transition

        request = ReviewRequestItemFactory().request
        ReviewRequest.objects.filter(pk=request.pk).update(status=source)
        request.refresh_from_db()
        moved = _request_transition(request, to=target, now=request.due_at)
        assert moved == (target in ReviewRequest.TRANSITIONS[source])
        request.refresh_from_db()
        assert request.status == (target if moved else source)

    @pytest.mark.parametrize(("source", "target"), every_pair(AttentionItem.Status.values))
    def test_attention_item(self, request_item, owner, source, target):
        from reviews.services.attention import attention_item_resolve

        review = submit(request_item, rating=1)
        item = AttentionItem.objects.get(review=review)
        AttentionItem.objects.filter(pk=item.pk).update(status=source)
        if target == "open":
            assert target not in AttentionItem.TRANSITIONS[source], "nothing reopens an item"
            return
        if target == "handed_over":
            from merchant.support_handoff import handler_register, handler_unregister
            from reviews.services.attention import attention_item_hand_over

            handler = handler_register(lambda case: "case:1")
            try:
                attention_item_hand_over(item=item)
            finally:
                handler_unregister(handler)
            item.refresh_from_db()
            assert item.status == (target if target in AttentionItem.TRANSITIONS[source] else source)
            return
        if target in AttentionItem.TRANSITIONS[source]:
            attention_item_resolve(item=item, actor=Actor.staff(owner), note="Called, sent a new pair.")
            item.refresh_from_db()
            assert (item.status, item.resolved_by) == ("resolved", owner)
        else:
            with pytest.raises(InvalidTransition):
                attention_item_resolve(item=item, actor=Actor.staff(owner))

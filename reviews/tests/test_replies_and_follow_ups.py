"""The shop answers a reviewer: the public reply under the customer's own review on the review page, and a private
message written by a staff member from the review's admin page, sent through journeys and kept as evidence."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from journeys.models import CareRule, Message
from merchant.actors import Actor
from reviews.links import review_url
from reviews.models import Review, ReviewFollowUp
from reviews.services.moderation import review_reply
from reviews.services.submissions import ItemAnswer, review_page_submit
from reviews.tests.factories import DELIVERED_AT, ReviewFactory, ReviewRequestItemFactory, drain

pytestmark = pytest.mark.django_db
# Wednesday 10 June 2026, 10:00 in New York: inside the follow-up rule's hours.
NOW = DELIVERED_AT + dt.timedelta(days=7)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def written(review_shop, customer, clock):
    item = ReviewRequestItemFactory(request__shop=review_shop, request__customer=customer, title="Wool socks")
    review_page_submit(
        request=item.request, answers=[ItemAnswer(item_id=item.pk, rating=2, text="Holes after a week.")], nps=None,
        language="en",
    )  # fmt: skip
    return Review.objects.get(item=item)


def follow_up_url(review) -> str:
    return reverse("admin:reviews_review_follow_up", args=[review.pk])


class TestPublicReply:
    def test_the_customer_sees_the_shops_reply_under_their_review_when_they_come_back(self, client, written, owner):
        path = urlsplit(review_url(request_id=written.request_id, shop_id=written.shop_id)).path
        assert "Reply from" not in client.get(path).content.decode()
        review_reply(review=written, actor=Actor.staff(owner), text="So sorry!\nA new pair is on its way.")
        page = client.get(path).content.decode()
        assert "Reply from Alpha Shoes" in page
        assert "So sorry!<br>A new pair is on its way." in page
        assert page.index("Holes after a week.") < page.index("Reply from Alpha Shoes")

    def test_the_reply_speaks_the_page_language_around_the_shops_words(self, client, written, owner):
        written.request.order.language = "de"
        written.request.order.save(update_fields=["language"])
        review_reply(review=written, actor=Actor.staff(owner), text="Entschuldigung!")
        path = urlsplit(review_url(request_id=written.request_id, shop_id=written.shop_id)).path
        assert "Antwort von Alpha Shoes" in client.get(path).content.decode()


class TestPrivateFollowUp:
    def test_a_staff_member_writes_from_the_review_page_and_the_customer_gets_it(self, client, written, agent):
        client.force_login(agent)
        change = client.get(reverse("admin:reviews_review_change", args=[written.pk])).content.decode()
        assert follow_up_url(written) in change
        assert client.get(follow_up_url(written)).status_code == 200

        response = client.post(follow_up_url(written), {"text": "We are sorry. A replacement left today."})

        assert response.status_code == 302
        follow_up = ReviewFollowUp.objects.get()
        assert (follow_up.text, follow_up.written_by, follow_up.customer) == (
            "We are sorry. A replacement left today.", agent, written.customer,
        )  # fmt: skip
        message = follow_up.message
        assert (message.trigger, message.message_class, message.status) == (
            "review_follow_up", "transactional", "scheduled",
        )  # fmt: skip
        event = written.events.get(action="followed_up")
        assert (event.actor_user, event.note) == (agent, "We are sorry. A replacement left today.")
        assert drain() == {"sent": 1}
        email = mail.outbox[-1]
        assert email.to == [written.customer.email]
        assert email.subject == "About your review – a message from Alpha Shoes"
        assert "Hi Jamie,\n\nWe are sorry. A replacement left today." in email.body
        message.refresh_from_db()
        assert "We are sorry. A replacement left today." in message.body
        # The review itself is unchanged, and it keeps the message in its history.
        written.refresh_from_db()
        assert (written.rating, written.text) == (2, "Holes after a week.")
        assert "We are sorry" in client.get(reverse("admin:reviews_review_change", args=[written.pk])).content.decode()

    def test_each_message_is_its_own(self, written, owner):
        from reviews.services.follow_ups import review_follow_up_send

        review_follow_up_send(review=written, actor=Actor.staff(owner), text="First.")
        review_follow_up_send(review=written, actor=Actor.staff(owner), text="Second.")
        assert Message.objects.filter(trigger="review_follow_up").count() == 2
        assert drain() == {"sent": 2}
        assert sorted(email.body.split("\n\n")[1] for email in mail.outbox[-2:]) == ["First.", "Second."]

    @pytest.mark.parametrize(
        ("setup", "text", "words"),
        [
            (None, "   ", "This field is required."),
            (None, "x" * 1001, "Keep the message under 1000 characters"),
            ("rule_off", "Hello", "is off; turn it on in Care rules"),
            ("opted_out", "Hello", "opted out of email"),
        ],
        ids=["empty", "too-long", "rule-off", "opted-out"],
    )
    def test_a_message_that_cannot_go_is_refused_naming_the_field_and_nothing_is_kept(
        self, client, written, owner, setup, text, words
    ):
        if setup == "rule_off":
            CareRule.objects.filter(shop=written.shop, trigger="review_follow_up").update(is_active=False)
        if setup == "opted_out":
            written.customer.email_opted_out_at = timezone.now()
            written.customer.sms_opted_out_at = timezone.now()
            written.customer.save()
        client.force_login(owner)
        response = client.post(follow_up_url(written), {"text": text})
        assert response.status_code == 400
        assert words in response.content.decode()
        assert not ReviewFollowUp.objects.exists()
        assert not Message.objects.filter(trigger="review_follow_up").exists()
        assert not written.events.filter(action="followed_up").exists()

    def test_an_imported_review_has_nobody_to_write_to(self, client, review_shop, owner, clock):
        imported = ReviewFactory(shop=review_shop, source="import", author_name="Kim")
        client.force_login(owner)
        assert (
            follow_up_url(imported)
            not in client.get(reverse("admin:reviews_review_change", args=[imported.pk])).content.decode()
        )
        response = client.post(follow_up_url(imported), {"text": "Hello"})
        assert response.status_code == 400
        assert "no customer to write to" in response.content.decode()

    def test_another_shops_review_is_404(self, client, written, other_owner):
        client.force_login(other_owner)
        assert client.get(follow_up_url(written)).status_code == 404
        assert client.post(follow_up_url(written), {"text": "Hello"}).status_code == 404
        assert not ReviewFollowUp.objects.exists()

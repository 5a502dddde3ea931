"""The admin of reviews as staff use it: only their shops' rows (another shop's id is 404), filters, the moderation
actions, replies without touching what the customer wrote, the needs-attention list, and the audited policy."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from merchant.tests.factories import ProductFactory
from reviews.models import AttentionItem, ReviewDelay, ReviewMedia, ReviewPolicy, ReviewPolicyChange
from reviews.services.policy import review_setup_for_shop
from reviews.services.submissions import ItemAnswer, NpsAnswer, review_page_submit
from reviews.tests.factories import ReviewFactory, ReviewRequestItemFactory

pytestmark = pytest.mark.django_db


def url(model: str, action: str = "changelist", *args) -> str:
    return reverse(f"admin:reviews_{model}_{action}", args=args)


@pytest.fixture
def ours(review_shop):
    socks = ProductFactory(shop=review_shop, title="Wool socks")
    washer = ProductFactory(shop=review_shop, title="Washing machine")
    return {
        "five": ReviewFactory(shop=review_shop, product=socks, rating=5, title="Lovely"),
        "one": ReviewFactory(shop=review_shop, product=washer, rating=1, title="Broke", incentivized=True),
        "pending": ReviewFactory(shop=review_shop, product=socks, rating=4, status="pending", flags=["link"]),
    }


@pytest.fixture
def theirs(other_shop):
    return ReviewFactory(shop=other_shop, rating=1, title="Their secret review")


class TestTenancy:
    def test_staff_see_only_their_shops_reviews_and_another_shops_answer_404(self, client, owner, ours, theirs):
        client.force_login(owner)
        listing = client.get(url("review"))
        assert listing.status_code == 200
        assert {review.pk for review in listing.context["cl"].result_list} == {review.pk for review in ours.values()}
        assert "Their secret review" not in listing.content.decode()
        assert client.get(url("review", "change", theirs.pk)).status_code == 404
        post = {"action": "publish_reviews", "_selected_action": [theirs.pk]}
        client.post(url("review"), post)
        theirs.refresh_from_db()
        assert theirs.status == "published"
        media = ReviewMedia.objects.create(
            review=theirs, kind="photo", content_type="image/jpeg", size_bytes=1, sha256="x", file="x.jpg"
        )
        assert client.get(reverse("admin:reviews_review_media", args=[theirs.pk, media.pk])).status_code == 404

    def test_the_list_costs_the_same_queries_for_3_or_13_reviews(
        self, client, owner, ours, review_shop, django_assert_num_queries
    ):
        client.force_login(owner)
        client.get(url("review"))
        with CaptureQueriesContext(connection) as counted:
            client.get(url("review"))
        for _ in range(10):
            ReviewFactory(shop=review_shop, product=ours["five"].product)
        with django_assert_num_queries(len(counted.captured_queries)):
            assert len(client.get(url("review")).context["cl"].result_list) == 13


class TestFilters:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"rating": "1"}, {"one"}),
            ({"status__exact": "pending"}, {"pending"}),
            ({"incentivized__exact": "1"}, {"one"}),
            ({"media": "yes"}, {"five"}),
            ({"media": "no"}, {"one", "pending"}),
        ],
    )
    def test_filters(self, client, owner, ours, query, expected):
        ReviewMedia.objects.create(
            review=ours["five"], kind="photo", content_type="image/jpeg", size_bytes=1, sha256="a", file="a.jpg"
        )
        client.force_login(owner)
        listing = client.get(url("review"), query)
        assert {review.pk for review in listing.context["cl"].result_list} == {ours[name].pk for name in expected}

    def test_the_product_filter_offers_only_products_with_reviews_in_the_persons_shops(
        self, client, owner, ours, theirs
    ):
        client.force_login(owner)
        listing = client.get(url("review"), {"product__id__exact": ours["five"].product_id})
        assert {review.pk for review in listing.context["cl"].result_list} == {ours["five"].pk, ours["pending"].pk}
        offered = listing.content.decode()
        assert "Wool socks" in offered
        assert "Washing machine" in offered


class TestModeration:
    def test_staff_cannot_change_stars_or_words_only_reply(self, client, owner, ours):
        client.force_login(owner)
        review = ours["one"]
        page = client.get(url("review", "change", review.pk))
        assert page.status_code == 200
        form_fields = set(page.context["adminform"].form.fields)
        assert form_fields == {"reply_text"}
        response = client.post(
            url("review", "change", review.pk),
            {
                "rating": "5",
                "title": "Great!",
                "text": "Changed",
                "reply_text": "Sorry, a new one is on its way.",
                **{
                    f"{prefix}-{name}": "0"
                    for prefix in ("media", "follow_ups", "events")
                    for name in ("TOTAL_FORMS", "INITIAL_FORMS")
                },
            },
        )
        assert response.status_code == 302
        review.refresh_from_db()
        assert (review.rating, review.title) == (1, "Broke")
        assert review.reply_text == "Sorry, a new one is on its way."
        assert review.events.get(action="replied").actor_user == owner

    def test_publish_action(self, client, agent, ours):
        client.force_login(agent)
        client.post(url("review"), {"action": "publish_reviews", "_selected_action": [ours["pending"].pk]})
        ours["pending"].refresh_from_db()
        assert ours["pending"].status == "published"

    def test_hiding_asks_for_an_allowed_reason_and_negative_is_not_one(self, client, owner, ours):
        client.force_login(owner)
        review = ours["one"]
        selected = {"action": "hide_reviews", "_selected_action": [review.pk]}
        asked = client.post(url("review"), selected)
        assert asked.status_code == 200
        assert "Being negative is never a reason to hide a review." in asked.content.decode()

        for reason, note, problem in (
            ("negative", "Bad for sales.", "Select a valid choice."),
            ("false", "Too negative, hurts sales.", "speaks of the review&#x27;s sentiment"),
            ("false", "", "This field is required."),
        ):
            refused = client.post(url("review"), {**selected, "apply": "1", "reason": reason, "note": note})
            assert refused.status_code == 400
            assert problem in refused.content.decode()
            review.refresh_from_db()
            assert review.status == "published"

        done = client.post(
            url("review"),
            {**selected, "apply": "1", "reason": "fake", "note": "The order was never delivered to them."},
        )
        assert done.status_code == 302
        review.refresh_from_db()
        assert (review.status, review.hidden_reason, review.hidden_by) == ("hidden", "fake", owner)


class TestNeedsAttention:
    def test_a_one_star_review_lands_in_the_list_and_is_resolved_there(self, client, agent, review_shop, other_owner):
        item = ReviewRequestItemFactory(request__shop=review_shop, request__customer__shop=review_shop, title="Kettle")
        review_page_submit(
            request=item.request,
            answers=[ItemAnswer(item_id=item.pk, rating=1, title="Leaks")],
            nps=None,
            language="en",
        )
        attention = AttentionItem.objects.get()
        client.force_login(agent)
        listing = client.get(url("attentionitem"))
        assert [row.pk for row in listing.context["cl"].result_list] == [attention.pk]
        assert "1/5 · Kettle · Leaks" in listing.content.decode()
        overdue = client.get(url("attentionitem"), {"overdue": "yes"})
        assert list(overdue.context["cl"].result_list) == []
        AttentionItem.objects.filter(pk=attention.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
        assert [row.pk for row in client.get(url("attentionitem"), {"overdue": "yes"}).context["cl"].result_list] == [
            attention.pk
        ]

        client.post(url("attentionitem"), {"action": "resolve_items", "_selected_action": [attention.pk]})
        attention.refresh_from_db()
        assert (attention.status, attention.resolved_by) == ("resolved", agent)

        client.force_login(other_owner)
        assert client.get(url("attentionitem", "change", attention.pk)).status_code == 404


class TestPolicy:
    def test_the_owner_sets_delays_and_a_coupon_and_every_change_is_kept(self, client, owner, review_shop):
        policy = ReviewPolicy.objects.get(shop=review_shop)
        client.force_login(owner)
        form = {
            "default_delay_days": "10",
            "customer_cap_days": "30",
            "product_cap_days": "365",
            "link_valid_days": "60",
            "reminder_count": "1",
            "reminder_after_days": "5",
            "attention_hours": "24",
            "coupon_code": "THANKS-10",
            "coupon_description": "10% off",
            "nps_interval_days": "90",
            "referral_code_prefix": "FRIEND",
            "delays-TOTAL_FORMS": "1",
            "delays-INITIAL_FORMS": "0",
            "delays-0-category": "vouchers",
            "delays-0-delay_days": "1",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
        }
        response = client.post(url("reviewpolicy", "change", policy.pk), form)
        assert response.status_code == 302, response.content.decode()[:2000]
        policy.refresh_from_db()
        assert (policy.default_delay_days, policy.coupon_code) == (10, "THANKS-10")
        assert ReviewDelay.objects.get(policy=policy).category == "vouchers"
        changes = {(change.field, change.old_value, change.new_value) for change in ReviewPolicyChange.objects.all()}
        assert changes == {
            ("default_delay_days", "7", "10"),
            ("coupon_code", "", "THANKS-10"),
            ("coupon_description", "", "10% off"),
        }
        assert {change.actor_user for change in ReviewPolicyChange.objects.all()} == {owner}

    def test_an_agent_may_look_but_not_change_and_another_shops_policy_is_404(
        self, client, agent, review_shop, other_shop
    ):
        review_setup_for_shop(other_shop)
        client.force_login(agent)
        policy = ReviewPolicy.objects.get(shop=review_shop)
        assert client.get(url("reviewpolicy", "change", policy.pk)).status_code == 200
        assert client.post(url("reviewpolicy", "change", policy.pk), {"default_delay_days": "1"}).status_code == 403
        theirs = ReviewPolicy.objects.get(shop=other_shop)
        assert client.get(url("reviewpolicy", "change", theirs.pk)).status_code == 404

    def test_a_new_shop_gets_a_policy_and_review_rules_that_are_off(self, db):
        from journeys.models import CareRule, MessageTemplate
        from merchant.services.shops import merchant_create

        shop = merchant_create(name="Nordlicht", slug="nordlicht", country="DE", time_zone="Europe/Berlin")
        assert ReviewPolicy.objects.filter(shop=shop, default_delay_days=7, reminder_count=1).exists()
        rules = CareRule.objects.filter(shop=shop, trigger__in=["review_request", "review_reminder"])
        assert sorted(rules.values_list("trigger", "is_active")) == [
            ("review_reminder", False),
            ("review_request", False),
        ]
        assert MessageTemplate.objects.filter(rule__in=rules).count() == 2 * 2 * 5
        demo = merchant_create(name="Demo", slug="demo-r", country="US", time_zone="UTC", is_demo=True)
        assert set(
            CareRule.objects.filter(shop=demo, trigger="review_request").values_list("is_active", flat=True)
        ) == {True}


class TestListQueries:
    @pytest.mark.parametrize("model", ["attentionitem", "reviewrequest", "npsresponse", "reviewpolicy"])
    def test_each_list_costs_the_same_queries_for_one_or_eleven_rows(
        self, client, owner, review_shop, model, django_assert_num_queries
    ):
        def add_row(number: int) -> None:
            item = ReviewRequestItemFactory(
                request__shop=review_shop,
                request__customer__shop=review_shop,
                request__order__number=f"#{number}",
                title=f"Item {number}",
            )
            review_page_submit(
                request=item.request,
                answers=[ItemAnswer(item_id=item.pk, rating=1)],
                nps=NpsAnswer(score=2),
                language="en",
            )

        add_row(0)
        client.force_login(owner)
        client.get(url(model))
        with CaptureQueriesContext(connection) as counted:
            assert client.get(url(model)).status_code == 200
        for number in range(1, 11):
            add_row(number)
        with django_assert_num_queries(len(counted.captured_queries)):
            assert client.get(url(model)).status_code == 200

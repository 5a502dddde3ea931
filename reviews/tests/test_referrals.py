"""Advocacy: a happy customer (NPS 9-10, or 4-5 stars) of a shop with referrals on gets one invitation with a
personal code, as a marketing message (consent and budget apply); an order arriving with that code from Shopify,
WooCommerce or the API is attributed to them and their reward is recorded for a person to give."""

import datetime as dt
import json

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import Customer
from merchant.platforms import shopify, woocommerce
from merchant.platforms.tests.conftest import fixture_body
from merchant.services import orders
from merchant.services.api_keys import api_key_create
from merchant.services.order_sync import order_sync
from merchant.tests.factories import CustomerFactory
from reviews.models import ReferralInvitation, ReferralReward
from reviews.services.referrals import CODE_ALPHABET, referral_reward_cancel, referral_reward_give
from reviews.services.submissions import ItemAnswer, NpsAnswer, review_page_submit
from reviews.tests.factories import DELIVERED_AT, ReviewRequestItemFactory, drain

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
NOW = DELIVERED_AT + 7 * DAY  # Wednesday 10 June 2026, 10:00 in New York
SYSTEM = Actor.system("test")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def referrals(policy):
    policy.referrals_enabled = True
    policy.referral_friend_offer = "10% off the first order"
    policy.referral_reward = "$10 credit"
    policy.save()
    return policy


@pytest.fixture
def consenting(customer):
    customer.email_marketing_consent_at = NOW - 30 * DAY
    customer.email_marketing_consent_source = "checkout"
    customer.save()
    return customer


def answer(customer, *, rating=None, score=None):
    item = ReviewRequestItemFactory(request__shop=customer.shop, request__customer=customer, title="Wool socks")
    review_page_submit(
        request=item.request,
        answers=[ItemAnswer(item_id=item.pk, rating=rating)] if rating else [],
        nps=NpsAnswer(score=score) if score is not None else None,
        language="en",
    )


class TestInvitation:
    def test_a_five_star_reviewer_gets_one_personal_code_by_email_the_next_day(self, referrals, consenting, clock):
        answer(consenting, rating=5)

        invitation = ReferralInvitation.objects.get()
        prefix, _, random_part = invitation.code.partition("-")
        assert prefix == "FRIEND"
        assert len(random_part) == 6
        assert set(random_part) <= set(CODE_ALPHABET)
        assert (invitation.customer, invitation.reason) == (consenting, "review")
        message = invitation.message
        assert (message.trigger, message.message_class, message.status) == (
            "referral_invitation", "marketing", "scheduled",
        )  # fmt: skip
        assert drain() == {}, "not before the rule's delay of a day"
        clock.shift(DAY)
        assert drain() == {"sent": 1}
        email = mail.outbox[-1]
        assert email.subject == "Your personal code to share with friends"
        assert f"Share your personal code {invitation.code} with friends: they get 10% off the first order." in (
            email.body
        )
        assert "You get $10 credit for each friend who orders with it." in email.body
        # A second happy answer invites nobody again.
        answer(consenting, score=10)
        assert ReferralInvitation.objects.count() == 1

    def test_a_promoter_is_invited_too(self, referrals, consenting, clock):
        answer(consenting, score=9)
        assert ReferralInvitation.objects.get().reason == "promoter"

    @pytest.mark.parametrize(("rating", "score"), [(3, None), (None, 8), (2, 0)])
    def test_nobody_else_is_invited(self, referrals, consenting, clock, rating, score):
        answer(consenting, rating=rating, score=score)
        assert not ReferralInvitation.objects.exists()

    def test_off_by_default(self, policy, consenting, clock):
        assert policy.referrals_enabled is False
        answer(consenting, rating=5, score=10)
        assert not ReferralInvitation.objects.exists()

    def test_without_marketing_consent_the_invitation_is_not_sent_and_says_why(self, referrals, customer, clock):
        answer(customer, rating=5)
        message = ReferralInvitation.objects.get().message
        assert (message.status, message.reason) == ("suppressed", "no_consent")

    def test_the_review_page_never_mentions_the_invitation(self, client, referrals, consenting, clock):
        from urllib.parse import urlsplit

        from reviews.links import review_url

        item = ReviewRequestItemFactory(request__shop=consenting.shop, request__customer=consenting, title="Socks")
        path = urlsplit(review_url(request_id=item.request_id, shop_id=consenting.shop_id)).path
        response = client.post(path, {f"item-{item.pk}-rating": "5"})
        thanks = client.get(response["Location"]).content.decode()
        code = ReferralInvitation.objects.get().code
        assert code not in thanks
        assert "refer" not in thanks.lower()


@pytest.fixture
def invitation(referrals, consenting, clock):
    answer(consenting, rating=5)
    return ReferralInvitation.objects.get()


def friend(shop) -> Customer:
    return CustomerFactory(shop=shop, email="friend@example.com", first_name="Robin")


class TestAttribution:
    def test_an_api_order_with_the_code_earns_the_referrer_a_reward(self, client, invitation, review_shop):
        key = api_key_create(shop=review_shop, name="erp")[1]
        body = {
            "number": "#5001", "currency": "USD", "placed_at": NOW.isoformat(),
            "customer": {"external_id": "f-1", "email": "friend@example.com", "first_name": "Robin"},
            "lines": [{"title": "Socks", "quantity": 1, "unit_price": "20.00"}],
            "discount_codes": ["WELCOME", invitation.code.lower()],
        }  # fmt: skip
        response = client.put(
            "/api/v1/orders/o-5001", json.dumps(body), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )  # fmt: skip
        assert response.status_code == 201
        assert response.json()["discount_codes"] == ["WELCOME", invitation.code.lower()]
        reward = ReferralReward.objects.get()
        assert (reward.referrer, reward.order.number, reward.referred_customer.email) == (
            invitation.customer, "#5001", "friend@example.com",
        )  # fmt: skip
        assert (reward.code, reward.reward, reward.status) == (invitation.code.lower(), "$10 credit", "recorded")
        # The same order again (an update) records nothing new.
        client.put(
            "/api/v1/orders/o-5001", json.dumps(body), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )  # fmt: skip
        assert ReferralReward.objects.count() == 1

    def test_a_shopify_order_with_the_code_among_its_discount_codes(self, invitation, review_shop):
        body = fixture_body("shopify/rest_order.json", "order")
        body["discount_codes"] = [{"code": invitation.code, "amount": "10.00", "type": "percentage"}]
        snapshot = shopify.order_snapshot(body)
        assert snapshot.discount_codes == (invitation.code,)
        order_sync(shop=review_shop, snapshot=snapshot, actor=SYSTEM, source_platform="shopify")
        reward = ReferralReward.objects.get()
        assert reward.order.external_id == str(body["id"])
        assert reward.order.discount_codes == [invitation.code]

    def test_a_woocommerce_order_with_the_code_among_its_coupon_lines(self, invitation, review_shop):
        body = fixture_body("woocommerce/order_v3_retrieve.json")
        body["coupon_lines"] = [{"id": 1, "code": invitation.code.lower(), "discount": "5.00", "discount_tax": "0"}]
        order_sync(
            shop=review_shop, snapshot=woocommerce.order_snapshot(body), actor=SYSTEM, source_platform="woocommerce"
        )
        assert ReferralReward.objects.get().order.external_id == str(body["id"])

    def test_ones_own_code_another_shops_code_and_a_second_order_of_the_same_friend_earn_nothing(
        self, invitation, review_shop, other_shop
    ):
        def order_with_code(shop, customer, number):
            return orders.order_create(
                shop=shop, number=number, currency="USD", actor=SYSTEM, customer=customer,
                discount_codes=[invitation.code],
            )  # fmt: skip

        order_with_code(review_shop, invitation.customer, "#6001")
        order_with_code(other_shop, friend(other_shop), "#6002")
        assert not ReferralReward.objects.exists()
        robin = friend(review_shop)
        order_with_code(review_shop, robin, "#6003")
        order_with_code(review_shop, robin, "#6004")
        assert list(ReferralReward.objects.values_list("order__number", flat=True)) == ["#6003"]

    def test_a_cancelled_order_cancels_a_reward_not_given_yet(self, invitation, review_shop):
        order = orders.order_create(
            shop=review_shop, number="#7001", currency="USD", actor=SYSTEM, customer=friend(review_shop),
            discount_codes=[invitation.code],
        )  # fmt: skip
        orders.order_cancel(order=order, actor=SYSTEM, reason="customer")
        reward = ReferralReward.objects.get()
        assert reward.status == "cancelled"
        assert "The order was cancelled." in reward.note

    def test_an_order_without_codes_costs_no_referral_query(self, review_shop, django_assert_num_queries):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as counted:
            orders.order_create(shop=review_shop, number="#8001", currency="USD", actor=SYSTEM)
        assert not any("reviews_referral" in query["sql"] for query in counted.captured_queries)


def every_pair(choices):
    return [(source, target) for source in choices for target in choices]


class TestRewards:
    @pytest.mark.parametrize(("source", "target"), every_pair(ReferralReward.Status.values))
    def test_transition_table(self, invitation, review_shop, owner, source, target):
        orders.order_create(
            shop=review_shop, number="#9001", currency="USD", actor=SYSTEM, customer=friend(review_shop),
            discount_codes=[invitation.code],
        )  # fmt: skip
        reward = ReferralReward.objects.get()
        ReferralReward.objects.filter(pk=reward.pk).update(status=source)
        move = {"given": referral_reward_give, "cancelled": referral_reward_cancel, "recorded": None}[target]
        if move is None:
            assert target not in ReferralReward.TRANSITIONS[source], "nothing goes back to “to give”"
            return
        if target in ReferralReward.TRANSITIONS[source]:
            move(reward=reward, actor=Actor.staff(owner))
            reward.refresh_from_db()
            assert (reward.status, reward.changed_by) == (target, owner)
        else:
            with pytest.raises(InvalidTransition):
                move(reward=reward, actor=Actor.staff(owner))
            reward.refresh_from_db()
            assert reward.status == source

    def test_staff_see_the_rewards_of_their_shop_and_mark_them_given(
        self, client, agent, other_owner, invitation, review_shop
    ):
        orders.order_create(
            shop=review_shop, number="#9101", currency="USD", actor=SYSTEM, customer=friend(review_shop),
            discount_codes=[invitation.code],
        )  # fmt: skip
        reward = ReferralReward.objects.get()
        client.force_login(agent)
        listing = client.get(reverse("admin:reviews_referralreward_changelist"))
        assert [row.pk for row in listing.context["cl"].result_list] == [reward.pk]
        codes = client.get(reverse("admin:reviews_referralinvitation_changelist")).content.decode()
        assert invitation.code in codes
        client.post(
            reverse("admin:reviews_referralreward_changelist"),
            {"action": "give_rewards", "_selected_action": [reward.pk]},
        )
        reward.refresh_from_db()
        assert (reward.status, reward.changed_by) == ("given", agent)
        client.force_login(other_owner)
        assert client.get(reverse("admin:reviews_referralreward_change", args=[reward.pk])).status_code == 404
        assert (
            invitation.code not in client.get(reverse("admin:reviews_referralinvitation_changelist")).content.decode()
        )

    @pytest.mark.parametrize("model", ["referralreward", "referralinvitation", "surveyanswer", "surveyquestion"])
    def test_each_list_costs_the_same_queries_for_one_or_six_rows(
        self, client, owner, review_shop, referrals, model, django_assert_num_queries, clock
    ):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from reviews.models import SurveyAnswer, SurveyQuestion

        def add_row(number: int) -> None:
            referrer = CustomerFactory(shop=review_shop, email_marketing_consent_at=NOW)
            answer(referrer, rating=5)
            code = ReferralInvitation.objects.get(customer=referrer).code
            orders.order_create(
                shop=review_shop, number=f"#R{number}", currency="USD", actor=SYSTEM,
                customer=CustomerFactory(shop=review_shop), discount_codes=[code],
            )  # fmt: skip
            question = SurveyQuestion.objects.create(shop=review_shop, label=f"Q{number}", is_active=False)
            SurveyAnswer.objects.create(shop=review_shop, question=question, customer=referrer, text="Hi")

        add_row(0)
        client.force_login(owner)
        url = reverse(f"admin:reviews_{model}_changelist")
        client.get(url)
        with CaptureQueriesContext(connection) as counted:
            assert client.get(url).status_code == 200
        for number in range(1, 6):
            add_row(number)
        with django_assert_num_queries(len(counted.captured_queries)):
            assert client.get(url).status_code == 200

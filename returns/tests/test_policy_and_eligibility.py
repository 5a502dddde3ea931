"""The return policy and what it lets a customer return: the window from delivery, the EU 14-day floor that no
setting switches off, non-returnable categories, quantities already in returns; the policy's checks; and what a
new shop starts with."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from journeys.models import CareRule
from merchant import services as merchant_services
from merchant.actors import Actor
from merchant.models import Order
from merchant.tests.factories import ProductFactory
from returns.models import ReturnPolicy, ReturnReason, ReturnRequest
from returns.selectors.requests import refund_estimate, return_eligibility, return_window
from returns.services.policy import return_policy_update
from returns.tests.factories import ReturnLineFactory, ReturnRequestFactory, delivered_order
from returns.triggers.requests import RETURN_TRIGGERS

pytestmark = pytest.mark.django_db
DELIVERED = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def order_of(shop, *, country: str, time_zone: str = "Europe/Berlin"):
    order = delivered_order(shop=shop)
    Order.objects.filter(pk=order.pk).update(delivered_at=DELIVERED)
    order.refresh_from_db()
    order.customer.country, order.customer.time_zone = country, time_zone
    order.customer.save()
    return order


class TestEuFloor:
    @pytest.mark.parametrize(
        ("country", "window_days", "days", "floor"),
        [
            ("DE", 7, 14, True),  # the shop's 7 days are lifted to 14 in the EU
            ("FR", 0, 14, True),  # even a shop that takes no returns at all
            ("DE", 30, 30, False),  # a longer window is kept as it is
            ("US", 7, 7, False),  # outside the EU the shop's window holds
            ("CH", 7, 7, False),  # Switzerland is not in the EU
        ],
    )
    def test_customers_in_the_eu_get_at_least_14_days_from_delivery(self, shop, country, window_days, days, floor):
        policy = ReturnPolicy(shop=shop, window_days=window_days)
        window = return_window(order=order_of(shop, country=country), policy=policy)
        assert (window.days, window.eu_floor_applied) == (days, floor)
        assert window.last_day == dt.date(2026, 3, 2) + dt.timedelta(days=days)

    def test_without_a_country_of_the_customer_the_shops_country_decides(self, other_shop):
        order = order_of(other_shop, country="")  # Beta Tea is in Germany
        assert return_window(order=order, policy=ReturnPolicy(shop=other_shop, window_days=7)).days == 14

    def test_the_window_ends_at_midnight_after_the_last_day_in_the_customers_zone(self, shop):
        order = order_of(shop, country="DE", time_zone="Europe/Berlin")
        window = return_window(order=order, policy=ReturnPolicy(shop=shop, window_days=7))
        # Delivered 2 March 16:00 in Berlin; 14 days: returns possible through 16 March, Berlin time (UTC+1).
        assert window.ends_at == dt.datetime(2026, 3, 16, 23, 0, tzinfo=dt.UTC)

    def test_an_eu_customer_can_still_return_on_day_13_of_a_7_day_window_and_not_on_day_15(self, shop, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(window_days=7)
        order = order_of(shop, country="AT", time_zone="Europe/Vienna")
        with time_machine.travel(DELIVERED + dt.timedelta(days=13), tick=False):
            assert return_eligibility(order=order).can_return
        with time_machine.travel(DELIVERED + dt.timedelta(days=15), tick=False), translation.override("en"):
            eligibility = return_eligibility(order=order)
        assert eligibility.refusal == "The return window ended on March 16, 2026."

    def test_the_floor_cannot_be_switched_off_it_is_not_a_setting(self, return_policy):
        with pytest.raises(ValidationError) as refused:
            return_policy_update(policy=return_policy, actor=Actor.system("test"), eu_floor_days=0)
        assert "eu_floor_days" in refused.value.message_dict


class TestEligibility:
    def test_an_order_not_delivered_yet_says_so_plainly(self, shop, return_policy):
        order = delivered_order(shop=shop)
        Order.objects.filter(pk=order.pk).update(delivered_at=None, status=Order.Status.SHIPPED)
        order.refresh_from_db()
        with translation.override("en"):
            refusal = return_eligibility(order=order).refusal
        assert refusal.startswith("Your order has not been delivered yet.")

    def test_the_window_ended_message_is_in_the_customers_language(self, shop, return_policy):
        order = order_of(shop, country="DE")
        with time_machine.travel(DELIVERED + dt.timedelta(days=60), tick=False), translation.override("de"):
            refusal = return_eligibility(order=order).refusal
        assert refusal == "Die Rückgabefrist endete am 1. April 2026."

    def test_each_line_can_return_what_was_bought_less_what_is_in_open_or_resolved_returns(self, shop, order):
        first, second = order.lines.order_by("id")
        first.quantity = 3
        first.save()
        for status, quantity in (("approved", 1), ("resolved", 1), ("cancelled", 1), ("declined", 1)):
            ReturnLineFactory(
                return_request=ReturnRequestFactory(order=order, status=status), order_line=first, quantity=quantity
            )
        eligibility = return_eligibility(order=order)
        assert [(entry.bought, entry.in_returns, entry.returnable) for entry in eligibility.lines] == [
            (3, 2, 1),
            (1, 0, 1),
        ]

    def test_a_line_in_a_non_returnable_category_is_shown_disabled_with_the_reason(self, shop, order, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(non_returnable_categories=["Underwear"])
        line = order.lines.order_by("id").first()
        line.product = ProductFactory(shop=shop, category="underwear ")
        line.save()
        with translation.override("en"):
            entries = return_eligibility(order=order).lines
        assert [(entry.returnable, entry.refusal) for entry in entries] == [
            (0, "This item cannot be returned (final sale)."),
            (1, ""),
        ]

    def test_everything_already_in_a_return_is_said_so(self, order):
        for line in order.lines.all():
            ReturnLineFactory(return_request=ReturnRequestFactory(order=order), order_line=line)
        with translation.override("en"):
            assert return_eligibility(order=order).refusal == "Every item of this order is already in a return."

    def test_a_refunded_order_has_nothing_left_to_return(self, shop):
        order = delivered_order(shop=shop)
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)
        order.refresh_from_db()
        assert not return_eligibility(order=order).can_return

    @pytest.mark.parametrize(
        ("reason", "fee"),
        [
            (ReturnReason.CHANGED_MIND, Decimal("12.35")),
            (ReturnReason.TOO_SMALL, Decimal("12.35")),
            (ReturnReason.TOO_LARGE, Decimal("12.35")),
            (ReturnReason.DAMAGED, Decimal("0")),
            (ReturnReason.WRONG_ITEM, Decimal("0")),
            (ReturnReason.NOT_AS_DESCRIBED, Decimal("0")),
            (ReturnReason.OTHER, Decimal("0")),
        ],
    )
    def test_the_restocking_fee_applies_only_to_change_of_mind_or_size(self, shop, reason, fee):
        policy = ReturnPolicy(shop=shop, restocking_fee_percent=Decimal("12.5"))
        estimate = refund_estimate(policy=policy, reason=reason, values=[Decimal("49.90"), Decimal("48.90")])
        assert (estimate.items_value, estimate.restocking_fee, estimate.refund) == (
            Decimal("98.80"),
            fee,
            Decimal("98.80") - fee,
        )


class TestPolicy:
    def test_bad_values_are_refused_naming_each_field_and_nothing_changes(self, return_policy):
        with pytest.raises(ValidationError) as refused:
            return_policy_update(
                policy=return_policy,
                actor=Actor.system("test"),
                refund_methods=[],
                auto_approve_reasons=["bored"],
                restocking_fee_percent=Decimal("150"),
                auto_approve_max_amount=Decimal("500"),
                review_above_amount=Decimal("100"),
            )
        assert set(refused.value.message_dict) >= {"refund_methods", "auto_approve_reasons", "auto_approve_max_amount"}
        return_policy.refresh_from_db()
        assert return_policy.refund_methods == ["original_payment", "store_credit"]

    def test_lists_are_tidied_and_kept_in_a_fixed_order(self, return_policy):
        updated = return_policy_update(
            policy=return_policy,
            actor=Actor.system("test"),
            non_returnable_categories=[" gift cards ", "", "gift cards", "food"],
            auto_approve_reasons=["wrong_item", "damaged"],
            refund_methods=["store_credit"],
        )
        assert updated.non_returnable_categories == ["gift cards", "food"]
        assert updated.auto_approve_reasons == ["damaged", "wrong_item"]
        assert updated.refund_methods == ["store_credit"]

    def test_a_new_shop_gets_a_policy_with_the_defaults_and_the_return_messages_switched_on(self, db):
        with timezone.override("UTC"):
            shop = merchant_services.merchant_create(
                name="Gamma",
                slug="gamma",
                country="DE",
                time_zone="Europe/Berlin",
                default_language="de",
                currency="EUR",
            )
        policy = ReturnPolicy.objects.get(shop=shop)
        assert (policy.window_days, policy.restocking_fee_percent, policy.refund_methods) == (
            30,
            Decimal("0"),
            ["original_payment", "store_credit"],
        )
        rules = CareRule.objects.filter(shop=shop, trigger__in=RETURN_TRIGGERS)
        assert {rule.trigger for rule in rules} == RETURN_TRIGGERS
        assert all(rule.is_active for rule in rules)
        assert {(t.channel, t.language) for t in rules.get(trigger="return_approved").templates.all()} >= {
            ("email", "de"),
            ("sms", "zh-hans"),
        }
        assert not ReturnRequest.objects.exists()

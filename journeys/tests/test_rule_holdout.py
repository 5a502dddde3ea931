"""A rule's holdout group: a stable random share of customers is planned for but never sent to, so its effect shows."""

import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from journeys.holdout import holdout_bucket, holdout_includes
from journeys.models import CareRule, Message
from journeys.services.budget import customer_budget_uses
from journeys.services.planning import order_event_plan, time_triggers_scan
from journeys.services.rules import care_rule_save
from journeys.tests.factories import CareRuleFactory
from journeys.tests.twilio_posts import SYSTEM, drain
from merchant.models import Customer
from merchant.services import orders

UTC_IDS = range(1, 20_001)


class TestAssignment:
    def test_the_draw_is_a_fixed_function_of_rule_and_customer(self):
        # Literal values: a change of the hash would silently move customers between groups.
        assert holdout_bucket(rule_id=1, customer_id=1) == 9161
        assert holdout_bucket(rule_id=1, customer_id=2) == 7792
        assert holdout_bucket(rule_id=2, customer_id=1) == 8354, "each rule draws on its own"
        assert holdout_bucket(rule_id=1, customer_id=None, order_id=1) == 9124, "the order when there is no customer"

    def test_another_process_draws_the_same_groups(self):
        # Python salts hash() per process; the draw must not depend on it.
        here = [holdout_bucket(rule_id=3, customer_id=customer) for customer in range(1, 50)]
        code = (
            "from journeys.holdout import holdout_bucket;"
            "print([holdout_bucket(rule_id=3, customer_id=c) for c in range(1, 50)])"
        )
        there = subprocess.run(  # noqa: S603 - this interpreter running our own code
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "random"}
        ).stdout.strip()
        assert there == str(here)

    def test_ten_percent_of_twenty_thousand_customers_are_held_out(self):
        held = [customer for customer in UTC_IDS if holdout_includes(rule_id=7, percent=10, customer_id=customer)]

        assert len(held) == 1934
        assert 1900 <= len(held) <= 2100, "within half a percentage point of 10%"

    def test_zero_percent_holds_out_nobody_and_fifty_about_half(self):
        assert not any(holdout_includes(rule_id=7, percent=0, customer_id=customer) for customer in UTC_IDS)
        assert sum(holdout_includes(rule_id=7, percent=50, customer_id=customer) for customer in UTC_IDS) == 9950

    def test_raising_the_share_only_adds_customers_to_the_group(self):
        ten = {c for c in UTC_IDS if holdout_includes(rule_id=7, percent=10, customer_id=c)}
        twenty = {c for c in UTC_IDS if holdout_includes(rule_id=7, percent=20, customer_id=c)}

        assert ten < twenty


def _customers_in_and_out(shop, rule: CareRule) -> tuple[Customer, Customer]:
    """A customer of the rule's holdout group and one outside it (customer ids decide, so draw until both exist)."""
    held, kept = None, None
    for number in range(200):
        customer = Customer.objects.create(
            shop=shop, first_name=f"C{number}", phone=f"+49151123{number:05d}", country="DE", time_zone="Europe/Berlin"
        )
        inside = holdout_includes(rule_id=rule.pk, percent=rule.holdout_percent, customer_id=customer.pk)
        if inside and held is None:
            held = customer
        elif not inside and kept is None:
            kept = customer
        if held and kept:
            return held, kept
    raise AssertionError("no customer of each group in 200 draws")


def _shipped(shop, customer: Customer, number: str):
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="EUR",
        actor=SYSTEM,
        customer=customer,
        lines=[orders.LineInput(title="Wool socks", quantity=1, unit_price=Decimal("9.95"))],
    )
    orders.order_mark_paid(order=order, actor=SYSTEM)
    orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url="https://t.example/1")
    return order


@pytest.mark.django_db
class TestPlanningAndSending:
    def test_a_held_out_customer_gets_a_planned_row_that_is_never_sent(self, care_shop, rules, twilio, noon):
        rule = rules["shipped"]
        rule.holdout_percent = 50
        care_rule_save(rule=rule)
        held, kept = _customers_in_and_out(care_shop, rule)

        held_order, kept_order = _shipped(care_shop, held, "#1"), _shipped(care_shop, kept, "#2")
        tally = drain()

        held_message = Message.objects.get(order=held_order, trigger="shipped")
        kept_message = Message.objects.get(order=kept_order, trigger="shipped")
        assert (held_message.status, held_message.reason, held_message.holdout) == ("suppressed", "holdout", True)
        assert "held out to measure the rule. 50% of customers" in held_message.explanation
        assert (held_message.sent_at, held_message.body) == (None, "")
        assert (kept_message.status, kept_message.holdout) == ("sent", False)
        assert twilio.count == 1, "only the customer outside the holdout reached the SMS provider"
        assert [sms["to"] for sms in twilio.messages] == [kept.phone.as_e164]
        assert tally.get("sent") == 1

    def test_a_held_out_row_is_not_planned_again_nor_counted_as_contact(self, care_shop, rules, twilio, noon):
        rule = rules["shipped"]
        rule.holdout_percent = 50
        care_rule_save(rule=rule)
        held, _kept = _customers_in_and_out(care_shop, rule)
        order = _shipped(care_shop, held, "#1")

        # The planner hears the same event again, the periodic scan runs, and the dispatcher.
        with transaction.atomic():
            order_event_plan(order, order.events.get(type="shipped"))
        time_triggers_scan()
        drain()

        assert list(Message.objects.filter(order=order, trigger="shipped").values_list("status", "reason")) == [
            ("suppressed", "holdout")
        ]
        assert customer_budget_uses(customer_id=held.pk, since=order.placed_at.replace(year=2000)) == []
        assert twilio.count == 0

    def test_changing_the_share_later_changes_only_new_plans(self, care_shop, rules, twilio, noon):
        rule = rules["shipped"]
        rule.holdout_percent = 50
        care_rule_save(rule=rule)
        held, _kept = _customers_in_and_out(care_shop, rule)
        first = _shipped(care_shop, held, "#1")

        rule.holdout_percent = 0
        care_rule_save(rule=rule)
        second = _shipped(care_shop, held, "#2")
        drain()

        assert Message.objects.get(order=first, trigger="shipped").reason == "holdout"
        later = Message.objects.get(order=second, trigger="shipped")
        assert (later.status, later.holdout) == ("sent", None), "no holdout kept any more: not part of a comparison"

    def test_the_same_customer_is_held_out_of_each_of_their_orders(self, care_shop, rules, twilio, noon):
        rule = rules["shipped"]
        rule.holdout_percent = 50
        care_rule_save(rule=rule)
        held, _kept = _customers_in_and_out(care_shop, rule)

        for number in ("#1", "#2", "#3"):
            _shipped(care_shop, held, number)

        assert set(Message.objects.filter(customer=held, trigger="shipped").values_list("reason", flat=True)) == {
            "holdout"
        }


@pytest.mark.django_db
class TestRuleSettings:
    def test_a_share_above_half_is_refused_naming_the_field(self, shop):
        rule = CareRuleFactory.build(shop=shop, trigger="shipped", holdout_percent=60)

        with pytest.raises(ValidationError) as error:
            care_rule_save(rule=rule)

        assert "holdout_percent" in error.value.message_dict

    def test_a_trigger_the_customer_depends_on_refuses_a_holdout(self, shop):
        rule = CareRuleFactory.build(shop=shop, trigger="case_reply", holdout_percent=10)

        with pytest.raises(ValidationError) as error:
            care_rule_save(rule=rule)

        assert "nobody may be held out" in error.value.message_dict["holdout_percent"][0]

    @pytest.mark.parametrize("trigger", ["order_status_checked", "refund_processed", "dispute_opened"])
    def test_messages_a_customer_needs_refuse_a_holdout(self, shop, trigger):
        # The answer to a worried customer, where their money is, how to settle a dispute: nobody may go without.
        rule = CareRuleFactory.build(shop=shop, trigger=trigger, holdout_percent=10)

        with pytest.raises(ValidationError) as error:
            care_rule_save(rule=rule)

        assert "nobody may be held out" in error.value.message_dict["holdout_percent"][0]

    def test_the_owner_sets_the_share_in_the_rule_admin(self, client, owner, shop):
        rule = CareRuleFactory(shop=shop, trigger="shipped")
        client.force_login(owner)

        page = client.get(f"/admin/journeys/carerule/{rule.pk}/change/")

        assert page.status_code == 200
        assert 'name="holdout_percent"' in page.content.decode()
        assert "this share of customers, picked at random, gets no message" in page.content.decode()

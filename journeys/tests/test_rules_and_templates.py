"""Rule conditions, channel choice, coupons, default rules and template checks, as the planner and
dispatcher apply them to orders made through the services."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from journeys.models import CareRule, Coupon, CouponPool, Message, MessageTemplate
from journeys.rendering import template_problems
from journeys.services.dispatch import Dispatcher
from journeys.services.rules import care_rule_dry_run, care_rule_save, message_template_save
from journeys.triggers import ORDER_CARE_TRIGGER_NAMES
from merchant.actors import Actor
from merchant.models import Customer, Product, Tag
from merchant.services import orders
from merchant.services.shops import merchant_create

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
NOON_UTC = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)


def paid_order(shop, *, total="50", country="US", number="#1", product=None, **customer_fields):
    defaults = {"first_name": "Sam", "phone": "+12025550143", "email": "sam@example.com", "time_zone": "UTC"}
    customer = customer_fields.pop("customer", None) or Customer.objects.create(
        shop=shop, country=country, **{**defaults, **customer_fields}
    )
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="USD",
        actor=SYSTEM,
        customer=customer,
        lines=[orders.LineInput(title="Mug", unit_price=Decimal(total), product=product)],
    )
    return orders.order_mark_paid(order=order, actor=SYSTEM)


def confirmation(order) -> Message | None:
    return Message.objects.filter(order=order, trigger="payment_confirmed").first()


@pytest.fixture(autouse=True)
def noon():
    with time_machine.travel(NOON_UTC, tick=False):
        yield


class TestDefaultRules:
    def test_a_new_shop_gets_every_order_care_rule_off_with_copy_in_five_languages(self, db):
        shop = merchant_create(name="Nordlicht", slug="nordlicht", country="DE", time_zone="Europe/Berlin")
        # Other apps add rules of their own triggers (reviews: review requests); these are journeys' order-care ones.
        rules = CareRule.objects.filter(shop=shop, trigger__in=ORDER_CARE_TRIGGER_NAMES)
        assert sorted(rules.values_list("trigger", flat=True)) == sorted(
            [
                "unpaid_reminder",
                "payment_confirmed",
                "late_shipment",
                "shipped",
                "out_for_delivery",
                "delivered",
                "stuck_parcel",
                "refund_processed",
                "order_status_checked",
            ]
        )
        assert not rules.filter(is_active=True).exists()
        templates = MessageTemplate.objects.filter(rule__in=rules)
        assert templates.count() == 9 * 2 * 5
        assert set(templates.values_list("language", flat=True)) == {"en", "de", "ru", "ko", "zh-hans"}
        assert not templates.filter(channel="email", subject="").exists()

    def test_inactive_rules_plan_nothing(self, shop):
        merchant_shop = merchant_create(name="Quiet", slug="quiet", country="US", time_zone="UTC")
        order = paid_order(merchant_shop)
        assert not Message.objects.filter(order=order).exists()


class TestConditions:
    def test_order_total_range(self, care_shop, rules):
        rule = rules["payment_confirmed"]
        rule.min_order_total, rule.max_order_total = Decimal("20"), Decimal("100")
        care_rule_save(rule=rule)
        assert confirmation(paid_order(care_shop, total="19.99", number="#a")) is None
        assert confirmation(paid_order(care_shop, total="20", number="#b")) is not None
        assert confirmation(paid_order(care_shop, total="100.01", number="#c")) is None

    def test_customer_countries(self, care_shop, rules):
        rule = rules["payment_confirmed"]
        rule.customer_countries = ["DE", "AT"]
        care_rule_save(rule=rule)
        assert confirmation(paid_order(care_shop, country="US", number="#a")) is None
        assert confirmation(paid_order(care_shop, country="AT", number="#b")) is not None

    def test_customer_tags(self, care_shop, rules):
        vip = Tag.objects.create(shop=care_shop, name="vip")
        rules["payment_confirmed"].customer_tags.add(vip)
        tagged = Customer.objects.create(shop=care_shop, email="vip@example.com", time_zone="UTC")
        tagged.tags.add(vip)
        assert confirmation(paid_order(care_shop, number="#a")) is None
        assert confirmation(paid_order(care_shop, number="#b", customer=tagged)) is not None

    def test_product_categories(self, care_shop, rules):
        rule = rules["payment_confirmed"]
        rule.product_categories = ["voucher"]
        care_rule_save(rule=rule)
        voucher = Product.objects.create(shop=care_shop, title="Dinner for two", category="voucher")
        assert confirmation(paid_order(care_shop, number="#a")) is None
        assert confirmation(paid_order(care_shop, number="#b", product=voucher)) is not None

    def test_first_order_and_repeat_customers(self, care_shop, rules):
        rule = rules["payment_confirmed"]
        rule.customer_kind = CareRule.CustomerKind.FIRST_ORDER
        care_rule_save(rule=rule)
        first = paid_order(care_shop, number="#a")
        with time_machine.travel(NOON_UTC + dt.timedelta(days=1), tick=False):
            second = paid_order(care_shop, number="#b", customer=first.customer)
        assert confirmation(first) is not None
        assert confirmation(second) is None


class TestChannels:
    def test_no_phone_plans_the_email_fallback_and_says_why(self, care_shop):
        order = orders.order_create(
            shop=care_shop,
            number="#1",
            currency="USD",
            actor=SYSTEM,
            customer=Customer.objects.create(shop=care_shop, email="x@example.com", time_zone="UTC"),
        )
        reminder = Message.objects.get(order=order, trigger="unpaid_reminder")
        assert reminder.channel == "email"
        assert "Email instead of SMS: no phone number." in reminder.explanation

    def test_no_address_at_all_is_recorded_as_suppressed(self, care_shop):
        customer = Customer.objects.create(shop=care_shop, first_name="Nobody", time_zone="UTC")
        order = orders.order_create(shop=care_shop, number="#1", currency="USD", actor=SYSTEM, customer=customer)
        reminder = Message.objects.get(order=order, trigger="unpaid_reminder")
        assert (reminder.status, reminder.reason) == ("suppressed", "invalid_address")

    def test_marketing_messages_need_consent(self, care_shop, rules):
        rule = rules["payment_confirmed"]
        rule.message_class, rule.send_any_hour = "marketing", False
        care_rule_save(rule=rule)
        message = confirmation(paid_order(care_shop))
        assert (message.status, message.reason) == ("suppressed", "no_consent")
        consented = confirmation(paid_order(care_shop, number="#2", email_marketing_consent_at=timezone.now()))
        assert consented.status == "scheduled"


class TestCoupons:
    def test_each_message_gets_its_own_code_until_the_pool_runs_out(self, care_shop, rules):
        pool = CouponPool.objects.create(shop=care_shop, name="Thanks")
        Coupon.objects.create(pool=pool, code="THANKS-1")
        rule = rules["payment_confirmed"]
        rule.coupon_pool = pool
        care_rule_save(rule=rule)
        MessageTemplate.objects.filter(rule=rule).update(body="{{ shop.name }}: paid. Code {{ coupon }}")
        first, second = paid_order(care_shop, number="#a"), paid_order(care_shop, number="#b")
        with Dispatcher(channels=["email"]) as dispatcher:
            dispatcher.drain()
        assert confirmation(first).coupon_code == "THANKS-1"
        assert "Code THANKS-1" in confirmation(first).body
        assert (confirmation(second).status, confirmation(second).reason) == ("suppressed", "no_coupon")
        assert Coupon.objects.get().message == confirmation(first)


class TestTemplateChecks:
    def test_an_unknown_variable_is_refused_with_its_line_and_name(self):
        [problem] = template_problems("Hello {{ customer.first_name }}\nYour order {{ order.nubmer }}")
        assert problem.line == 2
        assert "order.nubmer" in str(problem)
        assert "order.number" in str(problem), "the message lists the known names"

    def test_a_syntax_error_is_refused_with_its_line(self):
        [problem] = template_problems("Hi\n{% if order.number %}missing end")
        assert problem.line == 2

    def test_loop_variables_and_filters_are_known(self):
        source = '{% for line in lines %}{{ line.quantity }} x {{ line.title|upper }}{% endfor %} {{ order.placed_at|date:"j M" }}'
        assert template_problems(source) == []
        assert "line.colour" in str(template_problems("{% for line in lines %}{{ line.colour }}{% endfor %}")[0])

    def test_no_tag_library_can_be_loaded(self):
        assert template_problems("{% load static %}{% static 'x' %}")

    def test_saving_a_bad_template_changes_nothing(self, care_shop, rules):
        template = MessageTemplate.objects.get(rule=rules["shipped"], channel="sms", language="en")
        before = template.body
        template.body = "{{ shipment.tracking_numbr }}"
        with pytest.raises(ValidationError) as refused:
            message_template_save(template=template)
        assert "shipment.tracking_numbr" in str(refused.value.message_dict["body"])
        template.refresh_from_db()
        assert template.body == before

    def test_every_shipped_default_template_is_valid(self, care_shop):
        for template in MessageTemplate.objects.filter(rule__shop=care_shop):
            for name, html in (("subject", False), ("body", False), ("html_body", True)):
                assert template_problems(getattr(template, name), html=html) == [], (template, name)


class TestDryRun:
    def test_a_dry_run_lists_what_the_rule_would_plan_without_writing(self, care_shop, rules):
        orders_made = [paid_order(care_shop, number=f"#{n}") for n in range(3)]
        rule = rules["payment_confirmed"]
        Message.objects.filter(rule=rule).delete()
        result = care_rule_dry_run(rule=rule, limit=2)
        assert result.count == 3
        assert len(result.sample) == 2
        assert all(message.pk is None for message in result.sample)
        assert not Message.objects.filter(rule=rule).exists()
        assert {message.order for message in result.sample} <= set(orders_made)

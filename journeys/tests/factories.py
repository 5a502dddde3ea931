"""Test data for journeys. Rows are written directly; tests about a lifecycle go through the services."""

import factory
from django.utils import timezone

from journeys.models import CareRule, Coupon, CouponPool, Message, MessageTemplate
from merchant.tests.factories import MerchantFactory


class CouponPoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponPool

    shop = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Pool {n}")
    description = "10% off the next order"


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    pool = factory.SubFactory(CouponPoolFactory)
    code = factory.Sequence(lambda n: f"CODE-{n:05d}")


class CareRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareRule
        skip_postgeneration_save = True

    shop = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    trigger = "delivered"
    is_active = False
    delay_amount = 0
    delay_unit = CareRule.DelayUnit.MINUTES
    channel = "sms"
    fallback_channel = "email"
    message_class = "transactional"


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    rule = factory.SubFactory(CareRuleFactory)
    channel = "sms"
    language = "en"
    body = "Hi {{ customer.first_name }}, order {{ order.number }} has arrived."


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    shop = factory.SubFactory(MerchantFactory)
    trigger = "delivered"
    idem_key = factory.Sequence(lambda n: f"test:{n}")
    channel = "sms"
    language = "en"
    time_zone = "UTC"
    message_class = "transactional"
    anchor_at = factory.LazyFunction(timezone.now)
    not_before = factory.SelfAttribute("anchor_at")
    send_at = factory.SelfAttribute("anchor_at")

"""Test data. Rows with a lifecycle are built through the services where the test is about them;
factories set a status directly only to put an order in a starting state for a table test."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from merchant.models import Customer, Membership, Merchant, Order, OrderLine, Product, Tag
from merchant.services import orders_next_order_refresh


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}@example.com")
    email = factory.LazyAttribute(lambda user: user.username)
    is_staff = True
    password = factory.django.Password("correct horse battery staple")


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    country = "US"
    time_zone = "America/New_York"
    default_language = "en"
    currency = "USD"
    webhook_secret = factory.Faker("password", length=40, special_chars=False)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    shop = factory.SubFactory(MerchantFactory)
    role = Membership.Role.AGENT


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    shop = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    shop = factory.SubFactory(MerchantFactory)
    external_id = factory.Sequence(lambda n: f"cust-{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = "+12125550123"
    country = "US"
    language = "en"
    time_zone = "America/New_York"
    time_zone_source = Customer.TimeZoneSource.GIVEN


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    shop = factory.SubFactory(MerchantFactory)
    external_id = factory.Sequence(lambda n: f"prod-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    category = "apparel"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    shop = factory.SubFactory(MerchantFactory)
    customer = factory.SubFactory(CustomerFactory, shop=factory.SelfAttribute("..shop"))
    external_id = factory.Sequence(lambda n: f"order-{n}")
    number = factory.Sequence(lambda n: f"#{1000 + n}")
    status = Order.Status.PENDING_PAYMENT
    placed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=2))
    status_changed_at = factory.SelfAttribute("placed_at")
    currency = "USD"
    subtotal = Decimal("100.00")
    total = Decimal("100.00")
    refunded_total = factory.LazyAttribute(
        lambda order: (
            order.total
            if order.status == Order.Status.REFUNDED
            else Decimal("10.00")
            if order.status == Order.Status.PARTIALLY_REFUNDED
            else Decimal("0")
        )
    )
    source_platform = Order.SourcePlatform.SHOPIFY

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # As the order services do after creating an order: the customer's earlier orders learn of this one.
        order = super()._create(model_class, *args, **kwargs)
        orders_next_order_refresh(customer_ids=[order.customer_id])
        return order


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    title = "Trail running shoes"
    quantity = 1
    unit_price = Decimal("100.00")
    total = Decimal("100.00")

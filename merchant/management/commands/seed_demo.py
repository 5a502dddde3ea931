"""A demo shop with customers in five countries and orders in every lifecycle state.

Everything is generated from a fixed seed first, then only what is missing is created, so a
second run creates nothing. Orders move through the real services, so their timelines are real.
"""

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

import phonenumbers
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker

from merchant import demo, services
from merchant.actors import Actor
from merchant.models import Customer, Merchant, Order, Product
from merchant.phones import phone_parse

SEED = 20261122
DEMO_SLUG = "demo"


@dataclass(frozen=True)
class Region:
    country: str
    locale: str
    language: str
    weight: int
    carriers: tuple[tuple[str, str], ...]  # (carrier, tracking URL with {number})
    email_domain: str


REGIONS = (
    Region(
        "US",
        "en_US",
        "en",
        35,
        (
            ("UPS", "https://www.ups.com/track?tracknum={number}"),
            ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
        ),
        "example.com",
    ),
    Region(
        "DE",
        "de_DE",
        "de",
        20,
        (("DHL", "https://www.dhl.de/de/privatkunden/dhl-sendungsverfolgung.html?piececode={number}"),),
        "example.org",
    ),
    Region("RU", "ru_RU", "ru", 15, (("CDEK", "https://www.cdek.ru/ru/tracking?order_id={number}"),), "example.net"),
    Region(
        "KR",
        "ko_KR",
        "ko",
        15,
        (("CJ Logistics", "https://trace.cjlogistics.com/next/tracking.html?wblNo={number}"),),
        "example.com",
    ),
    Region(
        "CN",
        "zh_CN",
        "zh-hans",
        15,
        (("SF Express", "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{number}"),),
        "example.net",
    ),
)

PRODUCTS = (
    ("Trail running shoes", "apparel", "49.90"),
    ("Merino wool socks (3 pairs)", "apparel", "19.50"),
    ("Rain jacket", "apparel", "89.00"),
    ("Wireless earbuds", "electronics", "59.99"),
    ("USB-C charger 65W", "electronics", "29.90"),
    ("Smart watch", "electronics", "149.00"),
    ("Robot vacuum", "home_appliance", "299.00"),
    ("Espresso machine", "home_appliance", "219.00"),
    ("Washing machine 8 kg", "home_appliance", "449.00"),
    ("Face serum", "beauty", "24.00"),
    ("Sunscreen SPF 50", "beauty", "14.90"),
    ("Green tea sampler", "food", "18.00"),
    ("Single-origin coffee beans 1 kg", "food", "27.50"),
    ("Dinner for two voucher", "experience", "80.00"),
    ("Spa day voucher", "experience", "120.00"),
    ("Cookbook: Seasons", "books", "32.00"),
    ("Ceramic pour-over set", "home", "39.00"),
    ("Linen bed sheets", "home", "99.00"),
)
PLATFORMS = ((Order.SourcePlatform.SHOPIFY, 60), (Order.SourcePlatform.WOOCOMMERCE, 25), (Order.SourcePlatform.API, 15))


@dataclass
class CustomerPlan:
    external_id: str
    region: Region
    fields: dict


@dataclass
class OrderPlan:
    external_id: str
    number: str
    customer_external_id: str
    platform: str
    placed_at: dt.datetime
    lines: list[tuple[int, int]]  # (product index, quantity)
    abandoned: bool
    refund: str  # "", "partial", "full"
    split_shipment: bool
    tracking: str
    carrier_index: int
    delays: dict[str, dt.timedelta] = field(default_factory=dict)


# US area codes across the four mainland zones, so derived time zones differ like real customers'.
US_AREA_CODES = ("212", "617", "305", "312", "214", "713", "303", "602", "415", "213", "206", "503")


def _mobile_number(rng: random.Random, region: str) -> str:
    """A valid mobile number of `region`, written the way people there type it (national format)."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    keep = max(len(national) - 7, 1)
    for _attempt in range(100):
        prefix = rng.choice(US_AREA_CODES) if region == "US" else national[:keep]
        digits = prefix + "".join(rng.choice("0123456789") for _ in range(len(national) - len(prefix)))
        candidate = phonenumbers.parse(f"+{example.country_code}{digits}")
        kind = phonenumbers.number_type(candidate)
        if phonenumbers.is_valid_number(candidate) and kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.NATIONAL)
    raise RuntimeError(f"no valid mobile number generated for {region}")


def plan_customers(rng: random.Random, count: int) -> list[CustomerPlan]:
    fakers = {region.locale: Faker(region.locale) for region in REGIONS}
    for index, fake in enumerate(fakers.values()):
        fake.seed_instance(SEED + index)
    plans = []
    for number in range(1, count + 1):
        region = rng.choices(REGIONS, weights=[region.weight for region in REGIONS])[0]
        fake = fakers[region.locale]
        sex = rng.choice(("female", "male"))  # Russian surnames agree with the first name
        first, last = getattr(fake, f"first_name_{sex}")(), getattr(fake, f"last_name_{sex}")()
        has_phone = rng.random() < 0.9
        consent_at = timezone.now() - dt.timedelta(days=rng.randint(30, 400)) if rng.random() < 0.55 else None
        plans.append(
            CustomerPlan(
                external_id=f"demo-c-{number:04d}",
                region=region,
                fields={
                    "first_name": first,
                    "last_name": last,
                    "email": f"customer{number:04d}@{region.email_domain}",
                    "phone": _mobile_number(rng, region.country) if has_phone else "",
                    "country": region.country,
                    "language": region.language,
                    "sms_marketing_consent_at": consent_at if has_phone else None,
                    "sms_marketing_consent_source": "checkout checkbox" if consent_at and has_phone else "",
                    "email_marketing_consent_at": consent_at,
                    "email_marketing_consent_source": "checkout checkbox" if consent_at else "",
                },
            )
        )
    return plans


def plan_orders(rng: random.Random, customers: list[CustomerPlan], count: int, now: dt.datetime) -> list[OrderPlan]:
    plans = []
    for number in range(1, count + 1):
        customer = rng.choice(customers)
        placed_at = (now - dt.timedelta(minutes=rng.randint(10, 90 * 24 * 60))).replace(second=0, microsecond=0)
        lines = [(rng.randrange(len(PRODUCTS)), rng.choice((1, 1, 1, 2))) for _ in range(rng.choice((1, 1, 2, 3)))]
        refund_roll = rng.random()
        plans.append(
            OrderPlan(
                external_id=f"demo-o-{number:04d}",
                number=f"#{1000 + number}",
                customer_external_id=customer.external_id,
                platform=rng.choices([p for p, _ in PLATFORMS], weights=[w for _, w in PLATFORMS])[0],
                placed_at=placed_at,
                lines=lines,
                abandoned=rng.random() < 0.07,
                refund="full" if refund_roll < 0.05 else "partial" if refund_roll < 0.10 else "",
                split_shipment=len(lines) > 1 and rng.random() < 0.25,
                tracking="".join(rng.choice("0123456789") for _ in range(12)),
                carrier_index=rng.randrange(len(customer.region.carriers)),
                delays={
                    "pay": dt.timedelta(minutes=rng.randint(1, 240)),
                    "ship": dt.timedelta(hours=rng.randint(6, 96)),
                    "second_parcel": dt.timedelta(hours=rng.randint(12, 72)),
                    "deliver": dt.timedelta(hours=rng.randint(40, 240)),
                    "refund": dt.timedelta(hours=rng.randint(24, 300)),
                    "cancel_unpaid": dt.timedelta(days=2),
                },
            )
        )
    return plans


class Command(BaseCommand):
    help = "Load the demo shop: about 200 customers in five countries and 1,000 orders (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=200)
        parser.add_argument("--orders", type=int, default=1000)

    def handle(self, *args, customers: int, orders: int, **options):
        rng = random.Random(SEED)
        now = timezone.now()
        customer_plans = plan_customers(rng, customers)
        order_plans = plan_orders(rng, customer_plans, orders, now)
        with transaction.atomic():
            shop = self._shop()
            products = self._products(shop)
            created_customers = self._customers(shop, customer_plans)
            created_orders = self._orders(shop, order_plans, products, customer_plans, now)
            # Other apps' parts of the demo (journeys: holiday calendar, greeting, campaign draft).
            created_by_apps = demo.demo_steps_run(shop)
        self.stdout.write(f"SHOP={shop.slug}")
        self.stdout.write(f"CUSTOMERS_CREATED={created_customers}")
        self.stdout.write(f"ORDERS_CREATED={created_orders}")
        for name, count in created_by_apps.items():
            self.stdout.write(f"{name}={count}")

    def _shop(self) -> Merchant:
        shop = Merchant.objects.filter(slug=DEMO_SLUG).first()
        if shop is None:
            shop = services.merchant_create(
                name="Demo Outfitters",
                slug=DEMO_SLUG,
                country="US",
                time_zone="America/New_York",
                default_language="en",
                currency="USD",
                contact_email="care@example.com",
                sender_name="DemoOutfit",
                is_demo=True,
            )
        return shop

    def _products(self, shop: Merchant) -> list[Product]:
        existing = {product.external_id: product for product in Product.objects.filter(shop=shop)}
        products = []
        for index, (title, category, _price) in enumerate(PRODUCTS, start=1):
            external_id = f"demo-p-{index:03d}"
            product = existing.get(external_id) or services.product_create(
                shop=shop, title=title, external_id=external_id, sku=f"SKU-{index:04d}", category=category
            )
            products.append(product)
        return products

    def _customers(self, shop: Merchant, plans: list[CustomerPlan]) -> int:
        existing = set(Customer.objects.filter(shop=shop).values_list("external_id", flat=True))
        created = 0
        for plan in plans:
            if plan.external_id in existing:
                continue
            fields = dict(plan.fields)
            fields["phone"] = phone_parse(fields["phone"], region=plan.region.country) or ""
            tags = ["vip"] if plan.external_id.endswith("7") else []
            services.customer_create(shop=shop, external_id=plan.external_id, tags=tags, **fields)
            created += 1
        return created

    def _orders(self, shop, plans, products, customer_plans, now) -> int:
        existing = set(Order.objects.filter(shop=shop).values_list("external_id", flat=True))
        customers = {c.external_id: c for c in Customer.objects.filter(shop=shop)}
        regions = {plan.external_id: plan.region for plan in customer_plans}
        created = 0
        for plan in plans:
            if plan.external_id in existing:
                continue
            self._order(shop, plan, products, customers[plan.customer_external_id], regions, now)
            created += 1
        return created

    def _order(self, shop, plan: OrderPlan, products, customer, regions, now) -> None:
        actor = Actor.webhook(f"{plan.platform} (demo data)")
        order = services.order_create(
            shop=shop,
            number=plan.number,
            currency=shop.currency,
            actor=actor,
            customer=customer,
            external_id=plan.external_id,
            placed_at=plan.placed_at,
            ship_by=plan.placed_at + dt.timedelta(days=3),
            shipping_total=Decimal("4.90"),
            source_platform=plan.platform,
            lines=[
                services.LineInput(
                    title=products[index].title,
                    quantity=quantity,
                    unit_price=Decimal(PRODUCTS[index][2]),
                    product=products[index],
                    sku=products[index].sku,
                )
                for index, quantity in plan.lines
            ],
        )
        at = plan.placed_at
        if plan.abandoned:
            if at + plan.delays["cancel_unpaid"] < now:
                services.order_cancel(
                    order=order,
                    actor=Actor.system("unpaid order timeout"),
                    occurred_at=at + plan.delays["cancel_unpaid"],
                )
            return
        steps = self._steps(plan, regions[plan.customer_external_id])
        for delay, run in steps:
            at = at + delay
            if at >= now:
                return
            order = run(order, actor, at)

    def _steps(self, plan: OrderPlan, region: Region):
        carrier, url = region.carriers[plan.carrier_index]
        tracking_url = url.format(number=plan.tracking)

        def pay(order, actor, at):
            return services.order_mark_paid(order=order, actor=actor, occurred_at=at)

        def ship(order, actor, at):
            return services.order_mark_shipped(
                order=order,
                actor=actor,
                occurred_at=at,
                carrier=carrier,
                tracking_number=plan.tracking,
                tracking_url=tracking_url,
                partial=plan.split_shipment,
            )

        def ship_rest(order, actor, at):
            return services.order_mark_shipped(
                order=order,
                actor=actor,
                occurred_at=at,
                carrier=carrier,
                tracking_number=plan.tracking[::-1],
                tracking_url=url.format(number=plan.tracking[::-1]),
            )

        def deliver(order, actor, at):
            for shipment in order.shipments.all():
                services.shipment_record_carrier_update(
                    shipment=shipment, status="out_for_delivery", actor=actor, occurred_at=at - dt.timedelta(hours=5)
                )
            for shipment in order.shipments.all():
                services.shipment_record_carrier_update(
                    shipment=shipment, status="delivered", actor=actor, occurred_at=at
                )
            order.refresh_from_db()
            return order

        def refund(order, actor, at):
            amount = None if plan.refund == "full" else (order.total / 3).quantize(Decimal("0.01"))
            return services.order_refund_record(order=order, actor=actor, amount=amount, occurred_at=at)

        steps = [(plan.delays["pay"], pay), (plan.delays["ship"], ship)]
        if plan.split_shipment:
            steps.append((plan.delays["second_parcel"], ship_rest))
        steps.append((plan.delays["deliver"], deliver))
        if plan.refund:
            steps.append((plan.delays["refund"], refund))
        return steps

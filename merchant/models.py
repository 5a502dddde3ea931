"""Core data: shops, the people who work in them, their customers, products and orders.

Every business row belongs to one shop (`Merchant`), directly or through its order. Status
fields change only through `merchant.services`; the allowed moves are declared here as data.
"""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField

from merchant.timezones import validate_time_zone
from merchant.web_origins import origin_validate

LANGUAGE_CHOICES = settings.LANGUAGES
CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code such as USD or EUR."))
# Korean and Chinese names are written family name first, without a space: 최민서, 林娟.
FAMILY_NAME_FIRST_LANGUAGES = frozenset({"ko", "zh-hans", "zh-hant", "ja"})
MONEY = {"max_digits": 14, "decimal_places": 2, "validators": [MinValueValidator(0)]}


class BaseModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Merchant(BaseModel):
    """A shop: the tenant every other row belongs to."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    country = CountryField()
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    default_language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, default="en")
    currency = models.CharField(max_length=3, default="USD", validators=[CURRENCY_VALIDATOR])
    contact_email = models.EmailField(blank=True)
    contact_phone = PhoneNumberField(blank=True)
    sender_name = models.CharField(
        max_length=11 * 5,
        blank=True,
        help_text=_("Name customers see as the sender of messages. Empty: the shop name."),
    )
    storefront_origin = models.CharField(
        _("storefront address"),
        max_length=200,
        blank=True,
        validators=[origin_validate],
        help_text=_(
            "Where the shop's own pages are, e.g. https://shop.example.com: only pages there may read the "
            "storefront API (reviews) from a browser."
        ),
    )
    # Signing secrets of inbound webhooks. Kept in clear because HMACs are computed with them;
    # never shown again after they are saved (the admin has write-only fields for them).
    webhook_secret = models.CharField(max_length=200, blank=True, editable=False)
    shopify_webhook_secret = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("shop")
        verbose_name_plural = _("shops")

    def __str__(self) -> str:
        return self.name


class Membership(BaseModel):
    """Gives a person access to one shop, as its owner or as a support agent."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        AGENT = "agent", _("Support agent")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)

    class Meta:
        ordering = ["shop__name", "user__email", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "shop"], name="merchant_membership_unique_user_shop"),
            models.CheckConstraint(condition=Q(role__in=["owner", "agent"]), name="merchant_membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.shop} ({self.get_role_display()})"


class Tag(BaseModel):
    """A label a shop puts on customers (segments, conditions of rules)."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="merchant_tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Customer(BaseModel):
    """A person who bought from one shop. The same person in two shops is two customers."""

    class TimeZoneSource(models.TextChoices):
        GIVEN = "given", _("Given")
        PHONE = "phone", _("Derived from phone number")
        COUNTRY = "country", _("Derived from country")
        SHOP = "shop", _("Shop default")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="customers")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True, help_text=_("Stored in international E.164 form, e.g. +4915123456789."))
    # A number a platform sent that is not a number in service is kept as received, with the
    # reason, and `phone` stays empty so no SMS is attempted. It is never rewritten.
    phone_as_received = models.CharField(max_length=64, blank=True)
    phone_problem = models.CharField(max_length=200, blank=True)
    country = CountryField(blank=True)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    time_zone_source = models.CharField(max_length=10, choices=TimeZoneSource.choices, blank=True)
    sms_marketing_consent_at = models.DateTimeField(null=True, blank=True)
    sms_marketing_consent_source = models.CharField(max_length=120, blank=True)
    email_marketing_consent_at = models.DateTimeField(null=True, blank=True)
    email_marketing_consent_source = models.CharField(max_length=120, blank=True)
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    email_opted_out_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"],
                condition=Q(external_id__isnull=False),
                name="merchant_customer_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "email"], name="merchant_customer_email_idx"),
            models.Index(fields=["shop", "phone"], name="merchant_customer_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or str(self.phone) or f"Customer {self.pk}"

    @property
    def full_name(self) -> str:
        if self.language in FAMILY_NAME_FIRST_LANGUAGES:
            return f"{self.last_name}{self.first_name}".strip()
        return f"{self.first_name} {self.last_name}".strip()


class Product(BaseModel):
    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    title = models.CharField(max_length=255)
    sku = models.CharField(max_length=100, blank=True)
    category = models.CharField(
        max_length=100, blank=True, help_text=_("Decides, for example, when a review is requested.")
    )

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"],
                condition=Q(external_id__isnull=False),
                name="merchant_product_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Order(BaseModel):
    """An order and where it stands. `status` moves only along `TRANSITIONS`."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Pending payment")
        PAID = "paid", _("Paid")
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")

    S = Status
    # Forward moves only. Skipping ahead is allowed (cash on delivery: pending -> shipped), going
    # back never is. A move that is not listed is refused for people and ignored for events.
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.PENDING_PAYMENT: frozenset({S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.CANCELLED}),
        S.PAID: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
        S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
        S.SHIPPED: frozenset({S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
        S.DELIVERED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
        S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED}),
        S.CANCELLED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
        S.REFUNDED: frozenset(),
    }
    # Statuses that can happen more than once without moving: a second parcel, a second partial refund.
    REPEATABLE: frozenset[str] = frozenset({S.PARTIALLY_SHIPPED, S.PARTIALLY_REFUNDED})
    # The milestone time each status stamps when an order enters it.
    STATUS_TIMESTAMP: dict[str, str] = {
        S.PAID: "paid_at",
        S.PARTIALLY_SHIPPED: "shipped_at",
        S.SHIPPED: "shipped_at",
        S.DELIVERED: "delivered_at",
        S.CANCELLED: "cancelled_at",
        S.PARTIALLY_REFUNDED: "refunded_at",
        S.REFUNDED: "refunded_at",
    }
    del S

    class SourcePlatform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        API = "api", _("REST API")
        ADMIN = "admin", _("Admin")
        DEMO = "demo", _("Demo data")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", null=True, blank=True)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    number = models.CharField(max_length=64, help_text=_("The order number the customer sees, e.g. #1001."))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    status_changed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the event behind the current status happened.")
    )
    placed_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    ship_by = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    # Kept by merchant.services.orders_next_order_refresh whenever a customer's orders change (created, cancelled,
    # moved to another customer), so "did this customer buy again, and how soon?" is read from the order row
    # itself: the dashboard's journey map asks it of every order of a year at once.
    next_order_placed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the same customer next placed an order that was not cancelled; empty: not yet."),
    )
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    subtotal = models.DecimalField(default=0, **MONEY)
    shipping_total = models.DecimalField(default=0, **MONEY)
    tax_total = models.DecimalField(default=0, **MONEY)
    discount_total = models.DecimalField(default=0, **MONEY)
    total = models.DecimalField(default=0, **MONEY)
    refunded_total = models.DecimalField(default=0, **MONEY)
    source_platform = models.CharField(max_length=20, choices=SourcePlatform.choices, default=SourcePlatform.API)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    warehouse = models.CharField(
        max_length=100, blank=True, help_text=_("Where the order ships from: a warehouse or fulfilment region.")
    )
    discount_codes = models.JSONField(
        default=list, blank=True, help_text=_("Discount or coupon codes used at checkout, as the platform sent them.")
    )
    platform_updated_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the shop platform last changed the order; older updates are ignored.")
    )

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"],
                condition=Q(external_id__isnull=False),
                name="merchant_order_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending_payment",
                        "paid",
                        "partially_shipped",
                        "shipped",
                        "delivered",
                        "cancelled",
                        "partially_refunded",
                        "refunded",
                    ]
                ),
                name="merchant_order_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(refunded_total__gte=0), name="merchant_order_amounts_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status"], name="merchant_order_status_idx"),
            models.Index(fields=["shop", "-placed_at"], name="merchant_order_placed_idx"),
            # The late-shipment scan: paid orders of a shop whose ship-by time has passed.
            models.Index(fields=["shop", "status", "ship_by"], name="merchant_order_ship_by_idx"),
            # "When did this customer next order?" (orders_next_order_refresh, behind the journey map's "bought
            # again"), from the index alone.
            models.Index(
                fields=["customer", "placed_at"],
                condition=Q(cancelled_at__isnull=True),
                name="merchant_order_repeat_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Order {self.pk}"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class OrderLine(BaseModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    title = models.CharField(max_length=255)
    sku = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(default=0, **MONEY)
    total = models.DecimalField(default=0, **MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="merchant_orderline_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"


class Shipment(BaseModel):
    """One parcel of an order and what its carrier last said about it."""

    class Status(models.TextChoices):
        LABEL_CREATED = "label_created", _("Label created")
        IN_TRANSIT = "in_transit", _("In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        FAILURE = "failure", _("Delivery failed")

    S = Status
    # Carrier updates only move a parcel forward; a failed attempt can still be delivered later.
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.LABEL_CREATED: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILURE}),
        S.IN_TRANSIT: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILURE}),
        S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.FAILURE}),
        S.FAILURE: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED}),
        S.DELIVERED: frozenset(),
    }
    del S

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_TRANSIT)
    shipped_at = models.DateTimeField(default=timezone.now)
    last_carrier_event_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    line_external_ids = models.JSONField(default=list, blank=True, help_text=_("Order lines in this parcel."))

    class Meta:
        ordering = ["shipped_at", "id"]
        indexes = [
            # The stuck-parcel scan: parcels on their way whose carrier went quiet.
            models.Index(fields=["status", "last_carrier_event_at"], name="merchant_shipment_quiet_idx"),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.carrier, self.tracking_number) if part) or f"Shipment {self.pk}"


class OrderEvent(models.Model):
    """One line of an order's timeline. Append-only: rows are written by services, never changed."""

    class Type(models.TextChoices):
        CREATED = "created", _("Order placed")
        PAID = "paid", _("Payment received")
        SHIPPED = "shipped", _("Shipped")
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
        CANCELLED = "cancelled", _("Cancelled")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        NOTE = "note", _("Note")

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        DUPLICATE = "duplicate", _("Ignored: already in this state")
        STALE = "stale", _("Ignored: older than the current state")
        NOT_ALLOWED = "not_allowed", _("Ignored: would move the order backwards")

    class ActorKind(models.TextChoices):
        USER = "user", _("Staff member")
        CUSTOMER = "customer", _("Customer")
        WEBHOOK = "webhook", _("Webhook")
        API = "api", _("API")
        RULE = "rule", _("Rule")
        SYSTEM = "system", _("System")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=24, choices=Type.choices)
    from_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.APPLIED)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Order.SourcePlatform.choices, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["order", "occurred_at"], name="merchant_orderevent_order_idx")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.get_outcome_display()})"


class ApiKey(BaseModel):
    """A key a shop's own systems use to call the REST API. Stored as a hash; shown once."""

    class Kind(models.TextChoices):
        SECRET = "secret", _("Secret (read and write)")
        PUBLISHABLE = "publishable", _("Publishable (storefront reads)")

    PREFIXES = {Kind.SECRET: "sk", Kind.PUBLISHABLE: "pk"}

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SECRET)
    prefix = models.CharField(max_length=16, editable=False, help_text=_("The start of the key, to recognise it."))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(default=600)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class InboundEvent(models.Model):
    """One delivery from outside (a webhook or an API event), stored raw before it is applied."""

    class Source(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        API = "api", _("REST API")
        ANYMAIL = "anymail", _("Email events (anymail)")
        TWILIO = "twilio", "Twilio"

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        DUPLICATE = "duplicate", _("Duplicate")
        FAILED = "failed", _("Failed")
        # About something another process is about to record (a provider's callback that came before
        # the dispatcher wrote down the send): applied again once it is, or failed after a day.
        WAITING = "waiting", _("Waiting")

    S = Status
    # A failed event can be reprocessed once its cause is fixed, a waiting one is applied again;
    # the others are final.
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.RECEIVED: frozenset({S.PROCESSED, S.IGNORED, S.FAILED, S.WAITING}),
        S.FAILED: frozenset({S.PROCESSED, S.IGNORED, S.FAILED, S.WAITING}),
        S.WAITING: frozenset({S.PROCESSED, S.IGNORED, S.FAILED, S.WAITING}),
        S.PROCESSED: frozenset(),
        S.IGNORED: frozenset(),
        S.DUPLICATE: frozenset(),
    }
    del S

    # None for a signed provider callback about no message of ours (an account shared with another
    # system): kept as evidence, visible to superusers only.
    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, null=True, blank=True, related_name="inbound_events")
    source = models.CharField(max_length=12, choices=Source.choices)
    topic = models.CharField(max_length=100)
    delivery_id = models.CharField(max_length=200, blank=True)
    # The first delivery of an event claims this key; repeats are stored as duplicates with none.
    dedupe_key = models.CharField(max_length=300, null=True, blank=True, editable=False)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(blank=True, help_text=_("The bytes as they arrived (signatures cover exactly these)."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_events")
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # What a waiting event waits for: the provider's message id the dispatcher is about to record.
    waiting_for = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "dedupe_key"], name="merchant_inboundevent_unique_dedupe_key"),
            # NULLs are distinct in the constraint above; events without a shop are deduplicated here.
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=Q(shop__isnull=True), name="merchant_inboundevent_unique_shopless_key"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "-received_at"], name="merchant_inbound_status_idx"),
            # What the drainer asks every poll: the received events, oldest first.
            models.Index(fields=["id"], condition=Q(status="received"), name="merchant_inbound_pending_idx"),
            # What the dispatcher asks after each batch: events waiting for the ids it just recorded.
            # Empty while nothing waits, so the question costs one probe of an empty index.
            models.Index(fields=["waiting_for"], condition=Q(status="waiting"), name="merchant_inbound_waiting_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.topic} ({self.get_status_display()})"


class IdempotencyRecord(models.Model):
    """The first answer to an API write sent with an Idempotency-Key, replayed for repeats."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="merchant_idempotencyrecord_unique_key")]

    def __str__(self) -> str:
        return self.key

"""Shapes of the REST API, v1. Input serializers check shape only; services decide the rest."""

from decimal import Decimal

from django.conf import settings
from django_countries import countries
from rest_framework import serializers

from merchant.models import Customer, Order, OrderEvent, OrderLine, Shipment
from merchant.timezones import validate_time_zone

LANGUAGES = settings.LANGUAGES
MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0"), "coerce_to_string": True}


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable reason, e.g. validation_failed, bad_api_key.")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Problems per field path, e.g. customer.phone or lines[0].quantity.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


class ConsentInputSerializer(serializers.Serializer):
    granted_at = serializers.DateTimeField(help_text="When the customer agreed.")
    source = serializers.CharField(max_length=120, help_text="Where, e.g. 'checkout checkbox'.")


class CustomerInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="Any format; read with `country` (else the shop's) as default region and stored as E.164.",
    )
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="ISO 3166 alpha-2.")
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, allow_blank=True)
    time_zone = serializers.CharField(max_length=64, required=False, allow_blank=True, help_text="IANA name.")
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=50)
    email_marketing_consent = ConsentInputSerializer(required=False, allow_null=True)
    sms_marketing_consent = ConsentInputSerializer(required=False, allow_null=True)

    def validate_country(self, value: str) -> str:
        if value and value.upper() not in countries:
            raise serializers.ValidationError(f"“{value}” is not an ISO 3166 country code such as US, DE or KR.")
        return value.upper()

    def validate_time_zone(self, value: str) -> str:
        validate_time_zone(value)
        return value


class EmbeddedCustomerInputSerializer(CustomerInputSerializer):
    external_id = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="Your id of the customer; else found by email/phone.",
    )


class LineInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=255, required=False, allow_blank=True)
    product_id = serializers.CharField(max_length=255, required=False, allow_blank=True, help_text="Your product id.")
    title = serializers.CharField(max_length=255)
    sku = serializers.CharField(max_length=100, required=False, allow_blank=True)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = serializers.DecimalField(**MONEY)


class OrderInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="The order number the customer sees, e.g. #1001.")
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 4217, e.g. EUR.")
    placed_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(
        required=False,
        help_text="When your system last changed the order; an older update than one applied is ignored.",
    )
    customer = EmbeddedCustomerInputSerializer(required=False, allow_null=True)
    lines = LineInputSerializer(many=True, allow_empty=True, max_length=500)
    shipping_total = serializers.DecimalField(required=False, **MONEY)
    tax_total = serializers.DecimalField(required=False, **MONEY)
    discount_total = serializers.DecimalField(required=False, **MONEY)
    total = serializers.DecimalField(required=False, help_text="Default: lines + shipping + tax − discount.", **MONEY)
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, allow_blank=True)
    ship_by = serializers.DateTimeField(
        required=False, help_text="When the order is promised to ship; a late-shipment apology can follow it."
    )
    warehouse = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Where the order ships from (a warehouse or fulfilment region); campaigns can target it.",
    )
    discount_codes = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=20,
        help_text="Discount or coupon codes used at checkout, e.g. a customer's referral code.",
    )


EVENT_TYPES = ("paid", "shipped", "out_for_delivery", "delivered", "cancelled", "refunded")


class ShipmentInputSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    partial = serializers.BooleanField(required=False, default=False, help_text="Only part of the order is in it.")


class OrderEventInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    occurred_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    shipment = ShipmentInputSerializer(
        required=False, help_text="For shipped (and to name the parcel of later events)."
    )
    amount = serializers.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="For refunded; default: the rest.",
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="For cancelled.")


# --- output ----------------------------------------------------------------------------------


class CustomerOutputSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    country = serializers.CharField(source="country.code", allow_blank=True)

    class Meta:
        model = Customer
        fields = (
            "external_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "phone_as_received",
            "phone_problem",
            "country",
            "language",
            "time_zone",
            "time_zone_source",
            "tags",
            "email_marketing_consent_at",
            "sms_marketing_consent_at",
            "sms_opted_out_at",
            "email_opted_out_at",
            "created_at",
            "updated_at",
        )

    def get_phone(self, customer: Customer) -> str:
        return customer.phone.as_e164 if customer.phone else ""


class LineOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ("external_id", "title", "sku", "quantity", "unit_price", "total")


class ShipmentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shipment
        fields = (
            "carrier",
            "tracking_number",
            "tracking_url",
            "status",
            "shipped_at",
            "last_carrier_event_at",
            "delivered_at",
        )


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = ("type", "from_status", "to_status", "outcome", "actor", "occurred_at", "details")

    def get_actor(self, event: OrderEvent) -> str:
        who = event.actor_user.get_username() if event.actor_user_id else event.actor_label
        return f"{event.actor_kind}: {who}" if who else event.actor_kind


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ("external_id", "first_name", "last_name", "email")


class OrderSummarySerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer(allow_null=True)

    class Meta:
        model = Order
        fields = (
            "external_id",
            "number",
            "status",
            "currency",
            "subtotal",
            "shipping_total",
            "tax_total",
            "discount_total",
            "total",
            "refunded_total",
            "placed_at",
            "ship_by",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "cancelled_at",
            "refunded_at",
            "source_platform",
            "language",
            "warehouse",
            "discount_codes",
            "customer",
            "updated_at",
        )


class OrderOutputSerializer(OrderSummarySerializer):
    lines = LineOutputSerializer(many=True)
    shipments = ShipmentOutputSerializer(many=True)
    timeline = TimelineEntrySerializer(many=True, source="events")

    class Meta(OrderSummarySerializer.Meta):
        fields = (*OrderSummarySerializer.Meta.fields, "lines", "shipments", "timeline")


class OrderEventOutputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[*OrderEvent.Outcome.values, "failed"],
        help_text="applied, or why it was ignored: duplicate, stale, not_allowed.",
    )
    order = OrderOutputSerializer()

"""Shapes of the refunds API. Shape only: `refund_create` and friends decide what is allowed."""

from decimal import Decimal

from rest_framework import serializers

from returns.models import Refund, RefundLine, RefundMethod

MONEY = {"max_digits": 14, "decimal_places": 2, "coerce_to_string": True}


class RefundLineInputSerializer(serializers.Serializer):
    line_id = serializers.CharField(max_length=255, help_text="Your external id of the order line.")
    quantity = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(
        required=False, min_value=Decimal("0"), help_text="Default: the line's unit price × quantity.", **MONEY
    )


class RefundInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        required=False, min_value=Decimal("0.01"), help_text="Default: the sum of the lines.", **MONEY
    )
    method = serializers.ChoiceField(choices=RefundMethod.choices, default=RefundMethod.ORIGINAL_PAYMENT)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    lines = RefundLineInputSerializer(many=True, required=False, max_length=500)


class RefundProcessInputSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Needed for manual refunds: the transfer's reference.",
    )


class RefundCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RefundLineOutputSerializer(serializers.ModelSerializer):
    line_id = serializers.CharField(source="order_line.external_id", allow_null=True)
    title = serializers.CharField(source="order_line.title")
    amount = serializers.DecimalField(**MONEY)

    class Meta:
        model = RefundLine
        fields = ["line_id", "title", "quantity", "amount"]


class RefundOutputSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.external_id", allow_null=True)
    amount = serializers.DecimalField(**MONEY)
    lines = RefundLineOutputSerializer(many=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "order_id",
            "status",
            "amount",
            "currency",
            "method",
            "reason",
            "gateway",
            "reference",
            "platform_refund_id",
            "failure_reason",
            "expected_by",
            "created_at",
            "approved_at",
            "succeeded_at",
            "lines",
        ]

from rest_framework import serializers

from journeys.models import Message


class MessageSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.external_id", allow_null=True, default=None)
    customer = serializers.CharField(source="customer.external_id", allow_null=True, default=None)
    rule = serializers.CharField(source="rule.name", allow_null=True, default=None)
    skip_reason = serializers.CharField(source="reason")

    class Meta:
        model = Message
        fields = [
            "id",
            "order",
            "customer",
            "rule",
            "trigger",
            "channel",
            "status",
            "skip_reason",
            "send_at",
            "not_before",
            "expires_at",
            "sent_at",
            "delivered_at",
            "attempts",
            "language",
            "time_zone",
            "message_class",
            "explanation",
            "error",
        ]
        read_only_fields = fields

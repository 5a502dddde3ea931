"""REST API of disputes: record one you learnt of (a marketplace claim, a bank letter), read one back.

Secret API key of the shop (as the orders API), `Idempotency-Key` on the write, JSON errors naming the
field; a dispute of another shop is 404. Disputes from Shopify Payments arrive by webhook instead.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from merchant.actors import Actor
from merchant.api.serializers import MONEY
from merchant.api.views import ERRORS, IDEMPOTENCY_KEY, VALIDATION_EXAMPLE, idempotent
from merchant.models import Order
from returns.models import Dispute
from returns.services.disputes import dispute_create


class DisputeInputSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=Dispute.Provider.choices, default=Dispute.Provider.MARKETPLACE)
    external_id = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="The provider's claim or case number."
    )
    kind = serializers.ChoiceField(choices=["chargeback", "inquiry"], default="chargeback")
    reason_category = serializers.ChoiceField(choices=Dispute.ReasonCategory.choices)
    provider_reason = serializers.CharField(max_length=60, required=False, allow_blank=True)
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, help_text="ISO 4217; default the order's (or the shop's)."
    )
    due_at = serializers.DateTimeField(help_text="The provider's deadline for the answer, with its zone.")
    order = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="Your external id of the order."
    )


class DisputeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=Dispute.Status.choices)
    provider_status = serializers.CharField()
    reason_category = serializers.CharField()
    provider_reason = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()
    order = serializers.CharField(source="order.external_id", allow_null=True, default=None)
    order_number = serializers.CharField(source="order.number", allow_null=True, default=None)
    customer = serializers.CharField(source="customer.external_id", allow_null=True, default=None)
    opened_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    evidence_staged = serializers.SerializerMethodField()

    def get_evidence_staged(self, dispute: Dispute) -> bool:
        return bool(dispute.staged_packet)


def disputes_of(request):
    return Dispute.objects.filter(shop=request.auth.shop).select_related("order", "customer")


class DisputeCreateApi(APIView):
    @extend_schema(
        operation_id="dispute_create",
        request=DisputeInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: DisputeOutputSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Amazon A-to-z claim",
                value={"provider": "marketplace", "external_id": "AZ-2026-118", "reason_category": "not_received",
                       "amount": "80.00", "due_at": "2026-12-09T18:00:00Z", "order": "1001"},
                request_only=True,
            ),
            VALIDATION_EXAMPLE,
        ],
        tags=["disputes"],
        description="Record a dispute the shop learnt of outside Shopify (a marketplace claim, a PayPal case, a bank "
        "letter) with its deadline. It goes to the support queue, the customer gets the dispute guidance message, "
        "and staff are warned 72, 24 and 4 hours before `due_at`; unanswered by then it counts as lost.",
    )  # fmt: skip
    @idempotent
    def post(self, request):
        serializer = DisputeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shop = request.auth.shop
        order = None
        if data.get("order"):
            order = Order.objects.filter(shop=shop, external_id=data["order"]).first()
            if order is None:
                raise exceptions.ValidationError({"order": [f"No order with external id “{data['order']}”."]})
        dispute = dispute_create(
            shop=shop,
            actor=Actor.api(str(request.auth)),
            due_at=data["due_at"],
            amount=data["amount"],
            reason_category=data["reason_category"],
            provider=data["provider"],
            external_id=data.get("external_id", ""),
            kind=data["kind"],
            provider_reason=data.get("provider_reason", ""),
            currency=data.get("currency", ""),
            order=order,
        )
        dispute = disputes_of(request).get(pk=dispute.pk)
        return Response(DisputeOutputSerializer(dispute).data, status=status.HTTP_201_CREATED)


class DisputeApi(APIView):
    @extend_schema(
        operation_id="dispute_get", responses={200: DisputeOutputSerializer, **ERRORS}, tags=["disputes"],
        description="One dispute of the key's shop, by the id returned when it was recorded.",
    )  # fmt: skip
    def get(self, request, dispute_id: int):
        dispute = disputes_of(request).filter(pk=dispute_id).first()
        if dispute is None:
            raise exceptions.NotFound(f"No dispute {dispute_id}.")
        return Response(DisputeOutputSerializer(dispute).data)

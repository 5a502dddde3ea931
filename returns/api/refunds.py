"""The refunds API: propose a refund of an order (keyed by `Idempotency-Key`), read it, process or cancel it.

Approval above the shop's threshold is an owner's, in the admin: an API key is no owner.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from merchant.actors import Actor
from merchant.api import errors
from merchant.api.views import ERRORS, idempotent, orders_of
from returns.api.refund_serializers import (
    RefundCancelInputSerializer,
    RefundInputSerializer,
    RefundOutputSerializer,
    RefundProcessInputSerializer,
)
from returns.models import Refund
from returns.services.refunds import RefundLineInput, refund_cancel, refund_create, refund_process

KEY_MAX_LENGTH = 90
REQUIRED_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="One key per refund you mean to make (at most 90 characters). Sent again — a retry, a double "
    "click — it answers the refund made first and never makes a second.",
)
# A refund above the shop's approval threshold is made (201, status pending_approval) and waits for an owner in
# the admin; sending it before then is refused with 422 like any other step the refund cannot take yet.
REFUSED = ERRORS


def _actor(request) -> Actor:
    return Actor.api(str(request.auth))


def _refunds_of(request):
    return Refund.objects.filter(shop=request.auth.shop).select_related("order").prefetch_related("lines__order_line")


def _refund_or_404(request, refund_id: int) -> Refund:
    refund = _refunds_of(request).filter(pk=refund_id).first()
    if refund is None:
        raise exceptions.NotFound(f"No refund with id {refund_id}.")
    return refund


def _answer(request, refund: Refund, code: int = status.HTTP_200_OK) -> Response:
    return Response(RefundOutputSerializer(_refund_or_404(request, refund.pk)).data, status=code)


class OrderRefundListApi(APIView):
    @extend_schema(
        operation_id="order_refund_list",
        responses={200: RefundOutputSerializer(many=True), **ERRORS},
        tags=["refunds"],
    )
    def get(self, request, external_id: str):
        order = orders_of(request).filter(external_id=external_id).first()
        if order is None:
            raise exceptions.NotFound(f"No order with external id “{external_id}”.")
        refunds = _refunds_of(request).filter(order=order).order_by("-created_at", "-id")
        return Response(RefundOutputSerializer(refunds, many=True).data)

    @extend_schema(
        operation_id="order_refund_create",
        request=RefundInputSerializer,
        parameters=[REQUIRED_KEY],
        responses={201: RefundOutputSerializer, **REFUSED},
        examples=[
            OpenApiExample(
                "One item back to the card",
                value={"method": "original_payment", "reason": "Too small",
                       "lines": [{"line_id": "l-1", "quantity": 1}]},
                request_only=True,
            ),
            OpenApiExample(
                "More than is left",
                value={"error": {"code": "validation_failed", "message": "Some fields are not valid.",
                                 "fields": {"amount": ["Only 20.00 EUR of order #1001 is left to refund (80.00 paid, "
                                                       "60.00 refunded or on the way), not 25.00."]}}},
                status_codes=["422"],
                response_only=True,
            ),
        ],
        tags=["refunds"],
        description="Propose a refund: approved at once, or `pending_approval` above the shop's approval threshold. "
        "Refused (422, naming the field) when it is more than is left to refund on the order or a line, while a "
        "payment dispute is open, or for a method the return policy does not offer.",
    )  # fmt: skip
    @idempotent
    def post(self, request, external_id: str):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return errors.validation_error({"Idempotency-Key": ["Send an Idempotency-Key header: one key per refund."]})
        if len(key) > KEY_MAX_LENGTH:
            return errors.validation_error({"Idempotency-Key": [f"At most {KEY_MAX_LENGTH} characters."]})
        order = orders_of(request).filter(external_id=external_id).first()
        if order is None:
            raise exceptions.NotFound(f"No order with external id “{external_id}”.")
        serializer = RefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        by_external_id = {line.external_id: line for line in order.lines.exclude(external_id=None)}
        lines = []
        for index, line in enumerate(data.get("lines", [])):
            order_line = by_external_id.get(line["line_id"])
            if order_line is None:
                raise exceptions.ValidationError(
                    {f"lines[{index}].line_id": [f"Order {order.number} has no line “{line['line_id']}”."]}
                )
            lines.append(RefundLineInput(order_line=order_line, quantity=line["quantity"], amount=line.get("amount")))
        existed = Refund.objects.filter(shop=order.shop, idempotency_key=f"api:{key}").exists()
        refund = refund_create(
            order=order,
            amount=data.get("amount"),
            lines=lines,
            method=data["method"],
            reason=data.get("reason", ""),
            idempotency_key=f"api:{key}",
            actor=_actor(request),
        )
        return _answer(request, refund, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class RefundApi(APIView):
    @extend_schema(operation_id="refund_get", responses={200: RefundOutputSerializer, **ERRORS}, tags=["refunds"])
    def get(self, request, refund_id: int):
        return Response(RefundOutputSerializer(_refund_or_404(request, refund_id)).data)


class RefundProcessApi(APIView):
    @extend_schema(
        operation_id="refund_process",
        request=RefundProcessInputSerializer,
        responses={200: RefundOutputSerializer, **REFUSED},
        tags=["refunds"],
        description="Move the money of an approved refund, once: sent again, the refund is answered as it stands. "
        "A manual refund needs `reference`.",
    )
    def post(self, request, refund_id: int):
        refund = _refund_or_404(request, refund_id)
        serializer = RefundProcessInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            refund = refund_process(
                refund=refund, actor=_actor(request), reference=serializer.validated_data.get("reference", "")
            )
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        return _answer(request, refund)


class RefundCancelApi(APIView):
    @extend_schema(
        operation_id="refund_cancel",
        request=RefundCancelInputSerializer,
        responses={200: RefundOutputSerializer, **REFUSED},
        tags=["refunds"],
    )
    def post(self, request, refund_id: int):
        refund = _refund_or_404(request, refund_id)
        serializer = RefundCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = refund_cancel(refund=refund, actor=_actor(request), reason=serializer.validated_data.get("reason", ""))
        return _answer(request, refund)

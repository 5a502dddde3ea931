"""REST API v1. Every view works inside the shop of the API key; another shop's ids are 404."""

import datetime as dt
import functools
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import APIView

from merchant.actors import Actor
from merchant.api import errors
from merchant.api.serializers import (
    CustomerInputSerializer,
    CustomerOutputSerializer,
    ErrorSerializer,
    OrderEventInputSerializer,
    OrderEventOutputSerializer,
    OrderInputSerializer,
    OrderOutputSerializer,
    OrderSummarySerializer,
)
from merchant.models import Customer, InboundEvent, Order, OrderEvent
from merchant.phones import phone_check_usable
from merchant.platforms.snapshots import CustomerSnapshot, LineSnapshot, OrderSnapshot
from merchant.services.customers import customer_sync
from merchant.services.idempotency import idempotency_record_get, idempotency_record_save, request_fingerprint
from merchant.services.inbound import inbound_event_process, inbound_event_receive
from merchant.services.order_sync import order_sync

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Malformed JSON."),
    401: OpenApiResponse(ErrorSerializer, description="Missing, unknown or revoked API key."),
    404: OpenApiResponse(ErrorSerializer, description="No such object in this key's shop."),
    413: OpenApiResponse(ErrorSerializer, description="Body over 1 MB."),
    415: OpenApiResponse(ErrorSerializer, description="Body is not application/json."),
    422: OpenApiResponse(
        ErrorSerializer, description="Invalid fields, or an Idempotency-Key reused with another body."
    ),
    429: OpenApiResponse(ErrorSerializer, description="Rate limit of the key exceeded; see Retry-After."),
}
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeat a write safely: the same key with the same body replays the first answer for 24 hours; "
    "the same key with another body answers 422.",
)
VALIDATION_EXAMPLE = OpenApiExample(
    "Invalid field",
    value={"error": {"code": "validation_failed", "message": "Some fields are not valid.",
                     "fields": {"customer.phone": ["“12” is too short to be a phone number."]}}},
    status_codes=["422"],
    response_only=True,
)  # fmt: skip


def idempotent(method):
    """Replays the first answer to a write with the same Idempotency-Key (and body)."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return method(view, request, *args, **kwargs)
        if len(key) > 255:
            return errors.validation_error({"Idempotency-Key": ["At most 255 characters."]})
        shop = request.auth.shop
        fingerprint = request_fingerprint(method=request.method, path=request.path, body=request._request.body)
        record = idempotency_record_get(shop=shop, key=key)
        if record is None:
            response = method(view, request, *args, **kwargs)
            if response.status_code >= 500:
                return response
            record = idempotency_record_save(
                shop=shop, key=key, fingerprint=fingerprint, status=response.status_code, body=response.data
            )
            if record.request_fingerprint == fingerprint:
                return response
        if record.request_fingerprint != fingerprint:
            return errors.error(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request; use a new key for a new request.",
            )
        return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})

    return wrapper


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _time_param(request, name: str):
    value = request.query_params.get(name)
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise exceptions.ValidationError({name: ["Use an ISO 8601 time, e.g. 2026-11-01T00:00:00Z."]})
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _customer_snapshot(data: dict, shop, external_id: str | None) -> CustomerSnapshot:
    region = data.get("country") or str(shop.country)
    if data.get("phone"):
        try:
            phone_check_usable(data["phone"], region=region)
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"phone": error.messages}) from None
    consents = {name: data.get(f"{name}_marketing_consent") or {} for name in ("email", "sms")}
    return CustomerSnapshot(
        external_id=external_id or None,
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
        email=data.get("email", ""),
        phone_text=data.get("phone", ""),
        country=data.get("country", ""),
        language=data.get("language", ""),
        time_zone=data.get("time_zone", ""),
        tags=tuple(data.get("tags", ())),
        email_marketing_consent_at=consents["email"].get("granted_at"),
        sms_marketing_consent_at=consents["sms"].get("granted_at"),
        consent_source=consents["email"].get("source") or consents["sms"].get("source") or "",
    )


def customers_of(request):
    return Customer.objects.filter(shop=request.auth.shop)


def orders_of(request):
    return Order.objects.filter(shop=request.auth.shop)


def order_detail_queryset(request):
    return (
        orders_of(request)
        .select_related("customer")
        .prefetch_related(
            "lines", "shipments", Prefetch("events", queryset=OrderEvent.objects.select_related("actor_user"))
        )
    )


class CustomerApi(APIView):
    """One customer, by your external id."""

    @extend_schema(operation_id="customer_get", responses={200: CustomerOutputSerializer, **ERRORS}, tags=["customers"])
    def get(self, request, external_id: str):
        customer = customers_of(request).prefetch_related("tags").filter(external_id=external_id).first()
        if customer is None:
            raise exceptions.NotFound(f"No customer with external id “{external_id}”.")
        return Response(CustomerOutputSerializer(customer).data)

    @extend_schema(
        operation_id="customer_upsert",
        request=CustomerInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: CustomerOutputSerializer, 201: CustomerOutputSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "A customer in Germany",
                value={"first_name": "Anna", "last_name": "Schmidt", "email": "anna@example.com",
                       "phone": "0151 23456789", "country": "DE", "language": "de", "tags": ["vip"],
                       "sms_marketing_consent": {"granted_at": "2026-11-01T10:00:00Z", "source": "checkout"}},
                request_only=True,
            ),
            VALIDATION_EXAMPLE,
        ],
        tags=["customers"],
        description="Create or update. Fields you leave out keep their value; the time zone is derived from the "
        "phone number and country when not given. A plausible number that is not in service is kept as received "
        "and flagged (`phone_problem`) so no SMS is sent.",
    )  # fmt: skip
    @idempotent
    def put(self, request, external_id: str):
        serializer = CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shop = request.auth.shop
        existed = customers_of(request).filter(external_id=external_id).exists()
        snapshot = _customer_snapshot(serializer.validated_data, shop, external_id)
        customer = customer_sync(shop=shop, snapshot=snapshot)
        customer = customers_of(request).prefetch_related("tags").get(pk=customer.pk)
        return Response(
            CustomerOutputSerializer(customer).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )


class CustomerListApi(APIView):
    @extend_schema(
        operation_id="customer_list",
        parameters=[
            OpenApiParameter("email", str, description="Exact email, any case."),
            OpenApiParameter("country", str, description="ISO 3166 alpha-2."),
            OpenApiParameter("updated_after", str, description="ISO 8601 time."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="Up to 200; default 50."),
        ],
        responses={200: CustomerOutputSerializer(many=True), **ERRORS},
        tags=["customers"],
    )
    def get(self, request):
        customers = customers_of(request).prefetch_related("tags").order_by("-updated_at", "-id")
        if email := request.query_params.get("email"):
            customers = customers.filter(email__iexact=email)
        if country := request.query_params.get("country"):
            customers = customers.filter(country=country.upper())
        if updated_after := _time_param(request, "updated_after"):
            customers = customers.filter(updated_at__gt=updated_after)
        paginator = Pagination()
        page = paginator.paginate_queryset(customers, request, view=self)
        return paginator.get_paginated_response(CustomerOutputSerializer(page, many=True).data)


class OrderApi(APIView):
    """One order, by your external id, with its lines, parcels and timeline."""

    @extend_schema(operation_id="order_get", responses={200: OrderOutputSerializer, **ERRORS}, tags=["orders"])
    def get(self, request, external_id: str):
        order = order_detail_queryset(request).filter(external_id=external_id).first()
        if order is None:
            raise exceptions.NotFound(f"No order with external id “{external_id}”.")
        return Response(OrderOutputSerializer(order).data)

    @extend_schema(
        operation_id="order_upsert",
        request=OrderInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: OrderOutputSerializer, 201: OrderOutputSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "An order with its customer",
                value={"number": "#1001", "currency": "EUR", "placed_at": "2026-11-20T09:30:00Z",
                       "customer": {"external_id": "c-42", "first_name": "Anna", "email": "anna@example.com",
                                    "phone": "+49 151 23456789", "country": "DE", "language": "de"},
                       "lines": [{"external_id": "l-1", "product_id": "p-7", "title": "Trail shoes", "sku": "TS-42",
                                  "quantity": 1, "unit_price": "89.00"}],
                       "shipping_total": "4.90"},
                request_only=True,
            ),
            VALIDATION_EXAMPLE,
        ],
        tags=["orders"],
        description="Create or update an order with its lines and customer (embedded: upserted by its external "
        "id, else email, else phone). The status does not change here: send events for that.",
    )  # fmt: skip
    @idempotent
    def put(self, request, external_id: str):
        serializer = OrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shop = request.auth.shop
        customer_data = data.get("customer")
        try:
            customer = (
                _customer_snapshot(customer_data, shop, customer_data.get("external_id")) if customer_data else None
            )
        except exceptions.ValidationError as error:
            raise exceptions.ValidationError({"customer": error.detail}) from None
        existed = orders_of(request).filter(external_id=external_id).exists()
        lines = tuple(
            LineSnapshot(
                external_id=line.get("external_id") or None,
                title=line["title"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                sku=line.get("sku", ""),
                product_external_id=line.get("product_id") or None,
            )
            for line in data["lines"]
        )
        subtotal = sum((line.unit_price * line.quantity for line in lines), start=0)
        amounts = {name: data.get(name, 0) for name in ("shipping_total", "tax_total", "discount_total")}
        snapshot = OrderSnapshot(
            external_id=external_id,
            number=data["number"],
            currency=data["currency"].upper(),
            placed_at=data["placed_at"],
            updated_at=data.get("updated_at"),
            customer=customer,
            lines=lines,
            total=data.get(
                "total", subtotal + amounts["shipping_total"] + amounts["tax_total"] - amounts["discount_total"]
            ),
            language=data.get("language", ""),
            ship_by=data.get("ship_by"),
            warehouse=data.get("warehouse", ""),
            discount_codes=tuple(dict.fromkeys(data.get("discount_codes", ()))),  # in order, without repeats
            **amounts,
        )
        synced = order_sync(shop=shop, snapshot=snapshot, actor=_actor(request), source_platform="api")
        if synced.stale:
            return errors.error(
                status.HTTP_409_CONFLICT,
                "stale_update",
                f"Order {synced.order.number} was updated at {synced.order.platform_updated_at.isoformat()}, "
                "after this update's updated_at; nothing changed.",
            )
        order = order_detail_queryset(request).get(pk=synced.order.pk)
        return Response(
            OrderOutputSerializer(order).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )


class OrderListApi(APIView):
    @extend_schema(
        operation_id="order_list",
        parameters=[
            OpenApiParameter("status", str, enum=Order.Status.values),
            OpenApiParameter("placed_after", str, description="ISO 8601 time."),
            OpenApiParameter("placed_before", str, description="ISO 8601 time."),
            OpenApiParameter("updated_after", str, description="ISO 8601 time."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="Up to 200; default 50."),
        ],
        responses={200: OrderSummarySerializer(many=True), **ERRORS},
        tags=["orders"],
    )
    def get(self, request):
        orders = orders_of(request).select_related("customer").order_by("-placed_at", "-id")
        if wanted := request.query_params.get("status"):
            if wanted not in Order.Status.values:
                raise exceptions.ValidationError({"status": [f"One of {', '.join(Order.Status.values)}."]})
            orders = orders.filter(status=wanted)
        if placed_after := _time_param(request, "placed_after"):
            orders = orders.filter(placed_at__gte=placed_after)
        if placed_before := _time_param(request, "placed_before"):
            orders = orders.filter(placed_at__lt=placed_before)
        if updated_after := _time_param(request, "updated_after"):
            orders = orders.filter(updated_at__gt=updated_after)
        paginator = Pagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderSummarySerializer(page, many=True).data)


class OrderEventCreateApi(APIView):
    @extend_schema(
        operation_id="order_event_create",
        request=OrderEventInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: OrderEventOutputSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Shipped with tracking",
                value={"type": "shipped", "occurred_at": "2026-11-21T14:00:00Z",
                       "shipment": {"carrier": "DHL", "tracking_number": "00340434161234567890",
                                    "tracking_url": "https://www.dhl.de/en/privatkunden.html?piececode=00340434161234567890"}},
                request_only=True,
            ),
            OpenApiExample("Partial refund", value={"type": "refunded", "amount": "10.00"}, request_only=True),
            VALIDATION_EXAMPLE,
        ],
        tags=["orders"],
        description="Report what happened to an order. A late or repeated event never moves the order back: it is "
        "recorded on the timeline and `outcome` says why it was ignored (duplicate, stale, not_allowed).",
    )  # fmt: skip
    @idempotent
    def post(self, request, external_id: str):
        order = orders_of(request).filter(external_id=external_id).first()
        if order is None:
            raise exceptions.NotFound(f"No order with external id “{external_id}”.")
        serializer = OrderEventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        body = {
            "order": external_id,
            "type": data["type"],
            "occurred_at": (data.get("occurred_at") or timezone.now()).isoformat(),
            "shipment": data.get("shipment") or {},
            "amount": str(data["amount"]) if data.get("amount") else None,
            "reason": data.get("reason", ""),
            "api_key": str(request.auth),
        }
        event = inbound_event_receive(
            shop=request.auth.shop, source=InboundEvent.Source.API, topic="order.event", body=json.dumps(body).encode()
        )
        event = inbound_event_process(event=event)
        if event.status == InboundEvent.Status.FAILED:
            return errors.error(status.HTTP_422_UNPROCESSABLE_ENTITY, "event_refused", event.error)
        order = order_detail_queryset(request).get(pk=order.pk)
        return Response({"outcome": event.result.get("outcome"), "order": OrderOutputSerializer(order).data})


def _actor(request) -> Actor:
    return Actor.api(str(request.auth))

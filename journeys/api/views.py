"""REST API of the outbox: which messages an order or a customer got, will get, or did not get and why."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.views import APIView

from journeys.api.serializers import MessageSerializer
from journeys.models import Message
from merchant.api.views import ERRORS, Pagination
from merchant.models import Customer, Order


class MessageListApi(APIView):
    @extend_schema(
        operation_id="message_list",
        parameters=[
            OpenApiParameter("order", str, description="External id of an order."),
            OpenApiParameter("customer", str, description="External id of a customer."),
            OpenApiParameter("status", str, enum=Message.Status.values),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="Up to 200; default 50."),
        ],
        responses={200: MessageSerializer(many=True), **ERRORS},
        tags=["messages"],
        description="Messages planned, sent or skipped for one order or one customer, newest send time first, "
        "each with the reason it was planned for that time or why it was not sent.",
    )
    def get(self, request):
        shop = request.auth.shop
        order_id, customer_id = request.query_params.get("order"), request.query_params.get("customer")
        if not order_id and not customer_id:
            raise exceptions.ValidationError({"order": ["Give order=<external id> or customer=<external id>."]})
        messages = Message.objects.filter(shop=shop).select_related("order", "customer", "rule")
        if order_id:
            messages = messages.filter(order=get_object_or_404(Order, shop=shop, external_id=order_id))
        if customer_id:
            messages = messages.filter(customer=get_object_or_404(Customer, shop=shop, external_id=customer_id))
        if wanted := request.query_params.get("status"):
            if wanted not in Message.Status.values:
                raise exceptions.ValidationError({"status": [f"One of {', '.join(Message.Status.values)}."]})
            messages = messages.filter(status=wanted)
        paginator = Pagination()
        page = paginator.paginate_queryset(messages.order_by("-send_at", "-id"), request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)

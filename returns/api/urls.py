"""REST API of returns: refunds and disputes (shop API keys, like the orders API)."""

from django.urls import path

from returns.api import disputes, refunds

app_name = "returns-api"

urlpatterns: list = [
    path("v1/orders/<str:external_id>/refunds", refunds.OrderRefundListApi.as_view(), name="order-refunds"),
    path("v1/refunds/<int:refund_id>", refunds.RefundApi.as_view(), name="refund"),
    path("v1/refunds/<int:refund_id>/process", refunds.RefundProcessApi.as_view(), name="refund-process"),
    path("v1/refunds/<int:refund_id>/cancel", refunds.RefundCancelApi.as_view(), name="refund-cancel"),
    path("v1/disputes", disputes.DisputeCreateApi.as_view(), name="dispute-create"),
    path("v1/disputes/<int:dispute_id>", disputes.DisputeApi.as_view(), name="dispute"),
]

"""REST API of returns: return requests, refunds, disputes (shop API keys, like the orders API)."""

from django.urls import path

from returns.api import disputes

urlpatterns: list = []

# --- disputes ---
urlpatterns += [
    path("v1/disputes", disputes.DisputeCreateApi.as_view(), name="returns-dispute-create"),
    path("v1/disputes/<int:dispute_id>", disputes.DisputeApi.as_view(), name="returns-dispute"),
]

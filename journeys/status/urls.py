"""The order status page and its parts, under /s/ (the web push offer adds its own under /s/<token>/push...)."""

from django.urls import path

from journeys.status import views

urlpatterns = [
    path("<str:token>", views.order_status, name="order-status"),
    path("<str:token>/seen", views.order_status_seen, name="order-status-seen"),
]

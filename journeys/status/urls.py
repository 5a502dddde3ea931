"""The order status page and its parts, under /s/."""

from django.urls import path

from journeys.status import views

urlpatterns = [
    path("<str:token>", views.order_status, name="order-status"),
]

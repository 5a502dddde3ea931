"""The order status page and its parts, under /o/ (the web push offer adds its own under /o/<token>/push...)."""

from django.urls import path

from journeys.push import views as push_views
from journeys.status import views

urlpatterns = [
    # Before the page's route, which would take "sw.js" for a token.
    path("sw.js", push_views.service_worker, name="order-status-push-worker"),
    path("<str:token>", views.order_status, name="order-status"),
    path("<str:token>/seen", views.order_status_seen, name="order-status-seen"),
    # Web push: "notify me about this order" (journeys.push).
    path("<str:token>/push/subscribe", push_views.push_subscribe, name="order-status-push-subscribe"),
    path("<str:token>/push/unsubscribe", push_views.push_unsubscribe, name="order-status-push-unsubscribe"),
]

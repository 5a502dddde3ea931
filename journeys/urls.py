"""Customer-facing pages of journeys (signed links in messages, no login) and the email event webhooks."""

from django.urls import include, path

from journeys import views

urlpatterns = [
    path("u/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("l/<str:token>", views.tracked_link, name="tracked-link"),
    # The order status page (/o/) and what it offers: web push subscriptions.
    path("o/", include("journeys.status.urls")),
    path("webhooks/anymail/", include("journeys.email_webhooks")),
]

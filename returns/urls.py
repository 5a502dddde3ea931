"""Customer pages of returns: the return portal, the satisfaction survey; the inbound email webhook."""

from django.urls import path

from returns.email_webhooks import email_inbound

urlpatterns: list = [
    path("webhooks/email/inbound/<slug:shop_slug>", email_inbound, name="webhook-email-inbound"),
]

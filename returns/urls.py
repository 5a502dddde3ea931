"""Customer pages of returns: the return portal, the satisfaction survey; the inbound email webhook."""

from django.urls import path

from returns import views, views_survey
from returns.email_webhooks import email_inbound

urlpatterns = [
    # The return portal (signed link per order): choose items, follow and cancel the order's returns.
    path("returns/<str:token>", views.return_portal, name="return-portal"),
    path("returns/<str:token>/requests", views.return_requests, name="return-requests"),
    path("returns/<str:token>/requests/<int:request_id>", views.return_request_page, name="return-request"),
    path(
        "returns/<str:token>/requests/<int:request_id>/cancel",
        views.return_request_cancel_view,
        name="return-request-cancel",
    ),
    # The support queue's satisfaction survey (signed link, no login).
    path("s/<str:token>", views_survey.survey_page, name="satisfaction-survey"),
    path("s/<str:token>/thanks", views_survey.survey_thanks, name="satisfaction-survey-thanks"),
    path("webhooks/email/inbound/<slug:shop_slug>", email_inbound, name="webhook-email-inbound"),
]

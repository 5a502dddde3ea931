"""Customer pages of returns: the return portal, the satisfaction survey."""

urlpatterns: list = []

# The support queue's satisfaction survey (signed link, no login).
from django.urls import path  # noqa: E402

from returns import views_survey  # noqa: E402

urlpatterns += [
    path("s/<str:token>", views_survey.survey_page, name="satisfaction-survey"),
    path("s/<str:token>/thanks", views_survey.survey_thanks, name="satisfaction-survey-thanks"),
]

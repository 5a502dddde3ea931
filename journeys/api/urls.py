from django.urls import path

from journeys.api import views

app_name = "journeys-api"

urlpatterns = [
    path("v1/messages", views.MessageListApi.as_view(), name="message-list"),
]

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from merchant.api import views

app_name = "api"

urlpatterns = [
    path("v1/customers", views.CustomerListApi.as_view(), name="customer-list"),
    path("v1/customers/<str:external_id>", views.CustomerApi.as_view(), name="customer"),
    path("v1/orders", views.OrderListApi.as_view(), name="order-list"),
    path("v1/orders/<str:external_id>", views.OrderApi.as_view(), name="order"),
    path("v1/orders/<str:external_id>/events", views.OrderEventCreateApi.as_view(), name="order-events"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", authentication_classes=[], permission_classes=[]),
        name="docs",
    ),
]

from django.urls import path

from reviews.api import views

app_name = "reviews-api"

urlpatterns = [
    path("v1/products/<str:external_id>/reviews", views.ProductReviewListApi.as_view(), name="product-review-list"),
    path(
        "v1/products/<str:external_id>/reviews/jsonld",
        views.ProductReviewJsonLdApi.as_view(),
        name="product-review-jsonld",
    ),
]

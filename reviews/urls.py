"""The review page customers reach from review requests (signed token, no login)."""

from django.urls import path

from reviews import views

urlpatterns = [
    path("r/<str:token>", views.review_page, name="review-page"),
    path("r/<str:token>/thanks", views.review_thanks, name="review-thanks"),
    path("r/<str:token>/m/<int:media_id>", views.review_media, name="review-media"),
    # Photos and videos of published reviews, for storefronts (signed, no expiry, gone once the review is hidden).
    path("rm/<str:token>", views.review_public_media, name="review-public-media"),
]

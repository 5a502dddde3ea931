from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Review requests, the customer review page, moderation, replies, NPS and surveys."""

    name = "reviews"
    verbose_name = "Reviews"

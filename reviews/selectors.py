"""Reads of reviews: the review page's request, and the admin lists with their counts."""

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet

from reviews.models import Review, ReviewMedia, ReviewPolicy, ReviewRequest, ReviewRequestItem


def review_request_for_page(*, request_id: int, shop_id: int) -> ReviewRequest | None:
    """The request a review link names, only if it belongs to that shop, with what the page shows (3 queries)."""
    request = (
        ReviewRequest.objects.filter(pk=request_id, shop_id=shop_id)
        .select_related("shop", "customer", "order", "nps")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=ReviewRequestItem.objects.select_related("review").prefetch_related(
                    Prefetch("review__media", queryset=ReviewMedia.objects.order_by("id"))
                ),
            )
        )
        .first()
    )
    return request


def review_policy_for(shop_id: int) -> ReviewPolicy:
    """The shop's policy, or the defaults (unsaved) for a shop without one."""
    return ReviewPolicy.objects.filter(shop_id=shop_id).first() or ReviewPolicy(shop_id=shop_id)


def page_language(request: ReviewRequest) -> str:
    """The language the page speaks: the order's, the customer's, the shop's, else the site default."""
    available = {code for code, _name in settings.LANGUAGES}
    for language in (request.order.language, request.customer.language, request.shop.default_language):
        if language in available:
            return language
    return settings.LANGUAGE_CODE


def reviews_with_media_count(queryset: QuerySet[Review]) -> QuerySet[Review]:
    return queryset.annotate(media_count=Count("media", distinct=True))

"""Reads of reviews: the review page's request, and the admin lists with their counts."""

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet

from reviews.models import Review, ReviewMedia, ReviewPolicy, ReviewRequest, ReviewRequestItem, SurveyQuestion

# What the customer pages read of the request's relations: the page's own query reads ~40 columns instead of ~100
# (building and converting them was a third of the page's time). Anything else is read on access.
PAGE_FIELDS = (
    "id", "shop", "customer", "order", "status", "coupon_code", "reviewed_at",
    "shop__id", "shop__name", "shop__slug", "shop__country", "shop__default_language", "shop__contact_email",
    *(f"shop__review_policy__{field.name}" for field in ReviewPolicy._meta.concrete_fields),
    "customer__id", "customer__shop_id", "customer__first_name", "customer__last_name", "customer__email",
    "customer__country", "customer__language",
    "order__id", "order__shop_id", "order__number", "order__language",
    "nps__id", "nps__request_id", "nps__score", "nps__comment",
)  # fmt: skip


ITEM_FIELDS = (
    "id", "request_id", "title", "product_id",
    "review__id", "review__shop_id", "review__item_id", "review__rating", "review__title", "review__text",
    "review__status", "review__reply_text",
)  # fmt: skip


def review_request_for_page(*, request_id: int, shop_id: int) -> ReviewRequest | None:
    """The request a review link names, only if it belongs to that shop, with what the page shows: its shop with
    the review policy, customer, order, NPS answer, whether the shop has survey questions (`shop_asks_survey`),
    then its items with their reviews, then those reviews' photos (2 queries, 3 once a review has been written)."""
    found = (
        ReviewRequest.objects.filter(pk=request_id, shop_id=shop_id)
        .select_related("shop", "shop__review_policy", "customer", "order", "nps")
        .only(*PAGE_FIELDS)
        .annotate(shop_asks_survey=Exists(SurveyQuestion.objects.filter(shop_id=OuterRef("shop_id"), is_active=True)))
        .prefetch_related(
            Prefetch(
                "items",
                # Ordered by id alone: the model's ordering by request would join the requests again.
                queryset=ReviewRequestItem.objects.select_related("review")
                .only(*ITEM_FIELDS)
                .order_by("id")
                .prefetch_related(Prefetch("review__media", queryset=ReviewMedia.objects.order_by("id"))),
            )
        )
        .order_by()[:1]  # one row by its key: no ORDER BY to build
    )
    return next(iter(found), None)


def review_policy_for(shop_id: int) -> ReviewPolicy:
    """The shop's policy, or the defaults (unsaved) for a shop without one."""
    return ReviewPolicy.objects.filter(shop_id=shop_id).first() or ReviewPolicy(shop_id=shop_id)


def page_policy(request: ReviewRequest) -> ReviewPolicy:
    """The policy `review_request_for_page` loaded with the request's shop (defaults for a shop without one)."""
    try:
        return request.shop.review_policy
    except ReviewPolicy.DoesNotExist:
        return ReviewPolicy(shop_id=request.shop_id)


def page_language(request: ReviewRequest) -> str:
    """The language the page speaks: the order's, the customer's, the shop's, else the site default."""
    available = {code for code, _name in settings.LANGUAGES}
    for language in (request.order.language, request.customer.language, request.shop.default_language):
        if language in available:
            return language
    return settings.LANGUAGE_CODE


def reviews_with_media_count(queryset: QuerySet[Review]) -> QuerySet[Review]:
    return queryset.annotate(media_count=Count("media", distinct=True))

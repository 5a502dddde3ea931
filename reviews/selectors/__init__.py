"""Reads of reviews: the admin lists with their counts, a shop's review policy.

The customer pages of a review link read through `reviews.selectors.page`."""

from django.db.models import Count, QuerySet

from reviews.models import Review, ReviewPolicy


def review_policy_for(shop_id: int) -> ReviewPolicy:
    """The shop's policy, or the defaults (unsaved) for a shop without one."""
    return ReviewPolicy.objects.filter(shop_id=shop_id).first() or ReviewPolicy(shop_id=shop_id)


def reviews_with_media_count(queryset: QuerySet[Review]) -> QuerySet[Review]:
    return queryset.annotate(media_count=Count("media", distinct=True))

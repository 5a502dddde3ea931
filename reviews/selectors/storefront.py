"""Reads of the storefront reviews API: a shop's product, its published reviews, their rating summary.

Only published reviews are ever read here. A product is found by the shop's own external id, within
the API key's shop: another shop's product is simply not found. Five queries answer a page whatever its
size (the key, the product, the summary, the page, its photos and videos).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core import signing
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.urls import reverse

from merchant.models import FAMILY_NAME_FIRST_LANGUAGES, Product
from reviews.models import Review, ReviewMedia

PUBLIC_MEDIA_SALT = "reviews.public_media"
SORTS = {
    "newest": ("-submitted_at", "-id"),
    "highest": ("-rating", "-submitted_at", "-id"),
    "lowest": ("rating", "-submitted_at", "-id"),
}


@dataclass(frozen=True)
class RatingSummary:
    count: int
    average: Decimal | None  # two decimals; None without reviews
    distribution: dict[int, int]  # stars -> reviews, 1 to 5, zeros included


def storefront_product_get(*, shop_id: int, external_id: str) -> Product | None:
    return Product.objects.filter(shop_id=shop_id, external_id=external_id).first()


def published_reviews_of(product_id: int) -> QuerySet[Review]:
    return Review.objects.filter(product_id=product_id, status=Review.Status.PUBLISHED)


def rating_summary(*, product_id: int) -> RatingSummary:
    """Count, average and stars distribution of the product's published reviews, in one query."""
    stars = range(1, 6)
    totals = published_reviews_of(product_id).aggregate(
        count=Count("id"),
        total=Sum("rating"),
        **{f"stars_{n}": Count("id", filter=Q(rating=n)) for n in stars},
    )
    count = totals["count"] or 0
    average = (Decimal(totals["total"]) / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if count else None
    return RatingSummary(count=count, average=average, distribution={n: totals[f"stars_{n}"] for n in stars})


def storefront_reviews_page(*, product_id: int, offset: int, limit: int, sort: str = "newest") -> list[Review]:
    """One page of the product's published reviews with their authors and media (2 queries)."""
    return list(
        published_reviews_of(product_id)
        .select_related("customer")
        .prefetch_related(Prefetch("media", queryset=ReviewMedia.objects.order_by("id")))
        .order_by(*SORTS[sort])[offset : offset + limit]
    )


def review_author(review: Review) -> str:
    """How the storefront names the author: "Jamie R.", "林*"; the name given for an imported review."""
    if review.author_name or review.customer is None:
        return review.author_name
    customer = review.customer
    first, last = customer.first_name.strip(), customer.last_name.strip()
    if customer.language in FAMILY_NAME_FIRST_LANGUAGES:
        return f"{last}*" if last else first[:1] + "*" if first else ""
    if first and last:
        return f"{first} {last[0]}."
    return first


def public_media_token(media: ReviewMedia) -> str:
    # Deterministic (no timestamp), so a browser caches each photo; bound to the shop as well as the file.
    return signing.Signer(salt=PUBLIC_MEDIA_SALT).sign(f"{media.pk}.{media.review.shop_id}")


def public_media_url(media: ReviewMedia) -> str:
    return settings.PUBLIC_BASE_URL + reverse("review-public-media", args=[public_media_token(media)])


def public_media_read(token: str) -> tuple[int, int] | None:
    """(media id, shop id) a genuine token names; None for anything tampered or made up."""
    try:
        value = signing.Signer(salt=PUBLIC_MEDIA_SALT).unsign(token)
    except signing.BadSignature:
        return None
    media_id, _, shop_id = value.partition(".")
    return (int(media_id), int(shop_id)) if media_id.isdigit() and shop_id.isdigit() else None


def public_media_get(token: str) -> ReviewMedia | None:
    """The file a public token names, only while its review is published."""
    named = public_media_read(token)
    if named is None:
        return None
    media_id, shop_id = named
    return (
        ReviewMedia.objects.filter(pk=media_id, review__shop_id=shop_id, review__status=Review.Status.PUBLISHED)
        .select_related("review")
        .first()
    )


def aggregate_rating_jsonld(*, product: Product, summary: RatingSummary) -> dict:
    """schema.org Product with its AggregateRating, for a storefront's product page. Without published reviews
    the rating is left out (search engines refuse an AggregateRating of 0 reviews)."""
    data: dict = {"@context": "https://schema.org", "@type": "Product", "name": product.title}
    if product.sku:
        data["sku"] = product.sku
    if summary.count:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": str(summary.average),
            "reviewCount": summary.count,
            "bestRating": 5,
            "worstRating": 1,
        }
    return data

"""Shapes of the storefront reviews API (output only)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reviews.models import Review
from reviews.selectors.storefront import public_media_url, review_author


class MediaOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["photo", "video"])
    url = serializers.SerializerMethodField(help_text="Signed address of the file; works while the review is public.")
    content_type = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)

    def get_url(self, media) -> str:
        return public_media_url(media)


class ReplyOutputSerializer(serializers.Serializer):
    text = serializers.CharField(source="reply_text")
    replied_at = serializers.DateTimeField()


class ReviewOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField()
    text = serializers.CharField()
    author = serializers.SerializerMethodField(help_text="“Jamie R.”; empty when the customer gave no name.")
    verified_purchase = serializers.SerializerMethodField(
        help_text="Written from a review request after the order was delivered."
    )
    source = serializers.ChoiceField(
        choices=Review.Source.values, help_text="review_request, or import for reviews imported from a CSV file."
    )
    incentivized = serializers.BooleanField(
        help_text="The customer got something for any honest review (show the disclosure)."
    )
    incentive = serializers.CharField(source="incentive_note", help_text="What they got, e.g. 10% off.")
    language = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    media = MediaOutputSerializer(many=True, source="media.all")
    reply = serializers.SerializerMethodField(help_text="The shop's public reply, or null.")

    def get_author(self, review: Review) -> str:
        return review_author(review)

    def get_verified_purchase(self, review: Review) -> bool:
        return review.source == Review.Source.REVIEW_REQUEST and review.order_id is not None

    @extend_schema_field(ReplyOutputSerializer(allow_null=True))
    def get_reply(self, review: Review) -> dict | None:
        return ReplyOutputSerializer(review).data if review.reply_text else None


class ProductOutputSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    title = serializers.CharField()
    sku = serializers.CharField()


class SummaryOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Published reviews.")
    average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True, coerce_to_string=False)
    distribution = serializers.DictField(
        child=serializers.IntegerField(), help_text="Reviews per number of stars: {“1”: 0, …, “5”: 12}."
    )


class ReviewsPageOutputSerializer(serializers.Serializer):
    product = ProductOutputSerializer()
    summary = SummaryOutputSerializer()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ReviewOutputSerializer(many=True)
    jsonld = serializers.DictField(
        help_text="schema.org Product with its AggregateRating (none without reviews): put it in the product page "
        'inside <script type="application/ld+json">.'
    )

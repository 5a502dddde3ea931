"""The storefront reviews API: a product's published reviews, their summary and a JSON-LD snippet.

Read-only, for the shop's own pages: the publishable key (see `reviews.api.access`), CORS for the
shop's storefront address only, and a fixed number of queries whatever the page size.
"""

import json
import math

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from merchant.api.serializers import ErrorSerializer
from reviews.api.access import StorefrontKeyAuthentication, StorefrontRateThrottle, StorefrontRead, cors_headers_add
from reviews.api.serializers import ReviewOutputSerializer, ReviewsPageOutputSerializer
from reviews.selectors.storefront import (
    SORTS,
    aggregate_rating_jsonld,
    rating_summary,
    storefront_product_get,
    storefront_reviews_page,
)

PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
CACHE_SECONDS = 60
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Missing, unknown or revoked key; a secret key in the URL."),
    403: OpenApiResponse(ErrorSerializer, description="A secret key used from a web page (an Origin header)."),
    404: OpenApiResponse(ErrorSerializer, description="No product with this external id in the key's shop."),
    422: OpenApiResponse(ErrorSerializer, description="A bad query parameter; `fields` names it."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests from this visitor; see Retry-After."),
}
KEY_PARAMETER = OpenApiParameter(
    "key", str, description="The publishable key (pk_…), instead of the Authorization header."
)


class StorefrontApiView(APIView):
    authentication_classes = [StorefrontKeyAuthentication]
    permission_classes = [StorefrontRead]
    throttle_classes = [StorefrontRateThrottle]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        cors_headers_add(request, response)
        if request.method == "GET" and response.status_code == 200:
            response["Cache-Control"] = f"max-age={CACHE_SECONDS}"
        return response

    def options(self, request, *args, **kwargs):
        """CORS preflight: no body, no key needed."""
        return Response(status=status.HTTP_204_NO_CONTENT)

    def product_or_404(self, request, external_id: str):
        product = storefront_product_get(shop_id=request.auth.shop_id, external_id=external_id)
        if product is None:
            raise exceptions.NotFound(f"No product with external id “{external_id}”.")
        return product


def _whole(request, name: str, *, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise exceptions.ValidationError({name: [f"A whole number from {low} to {high}."]})
    return int(value)


class ProductReviewListApi(StorefrontApiView):
    @extend_schema(
        operation_id="product_review_list",
        parameters=[
            OpenApiParameter("page", int, description="From 1; a page after the last one is empty."),
            OpenApiParameter("page_size", int, description=f"Up to {MAX_PAGE_SIZE}; default {PAGE_SIZE}."),
            OpenApiParameter("sort", str, enum=list(SORTS), description="Default newest."),
            KEY_PARAMETER,
        ],
        responses={200: ReviewsPageOutputSerializer, **ERRORS},
        tags=["storefront"],
        description="The product's published reviews, newest first, with the count, the average, the number of "
        "reviews per star, each review's photos and videos (signed addresses) and the shop's public reply, and a "
        "schema.org AggregateRating JSON-LD snippet. Imported reviews say `source: import`. Works with the shop's "
        "publishable key; browsers may call it from the shop's storefront address (CORS).",
    )
    def get(self, request, external_id: str):
        page = _whole(request, "page", default=1, low=1, high=100_000)
        page_size = _whole(request, "page_size", default=PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
        sort = request.query_params.get("sort") or "newest"
        if sort not in SORTS:
            raise exceptions.ValidationError({"sort": [f"One of {', '.join(SORTS)}."]})
        product = self.product_or_404(request, external_id)
        summary = rating_summary(product_id=product.pk)
        offset = (page - 1) * page_size
        reviews = (
            storefront_reviews_page(product_id=product.pk, offset=offset, limit=page_size, sort=sort)
            if offset < summary.count
            else []
        )
        pages = math.ceil(summary.count / page_size)
        url = request.build_absolute_uri()
        body = {
            "product": {"external_id": product.external_id, "title": product.title, "sku": product.sku},
            "summary": {
                "count": summary.count,
                "average": summary.average,
                "distribution": {str(stars): count for stars, count in summary.distribution.items()},
            },
            "page": page,
            "page_size": page_size,
            "pages": pages,
            "next": replace_query_param(url, "page", page + 1) if page < pages else None,
            "previous": replace_query_param(url, "page", min(page - 1, pages)) if page > 1 and pages else None,
            "results": ReviewOutputSerializer(reviews, many=True).data,
            "jsonld": aggregate_rating_jsonld(product=product, summary=summary),
        }
        return Response(body)


class ProductReviewJsonLdApi(StorefrontApiView):
    @extend_schema(
        operation_id="product_review_jsonld",
        parameters=[KEY_PARAMETER],
        responses={
            (200, "application/ld+json"): OpenApiResponse(
                description="schema.org Product with its AggregateRating (left out without published reviews)."
            ),
            **ERRORS,
        },
        tags=["storefront"],
        description="The same JSON-LD snippet as in the reviews list, alone, as application/ld+json: for "
        "server-side page templates.",
    )
    def get(self, request, external_id: str):
        product = self.product_or_404(request, external_id)
        data = aggregate_rating_jsonld(product=product, summary=rating_summary(product_id=product.pk))
        return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/ld+json")

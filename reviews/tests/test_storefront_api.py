"""The storefront reviews API as a shop's product page uses it: published reviews only, paged, with the summary, the
photos, the shop's reply and a JSON-LD snippet; the publishable key, CORS for the shop's own address only, another
shop's key sees nothing, and a page costs the same queries whatever its size."""

import datetime as dt
import json

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchant.models import ApiKey, Merchant
from merchant.services.api_keys import api_key_create, api_key_revoke
from merchant.tests.factories import CustomerFactory, ProductFactory
from reviews.models import Review, ReviewMedia
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db
STOREFRONT = "https://shop.alpha.example"
URL = "/api/v1/products/{}/reviews"


@pytest.fixture
def shop(shop):
    Merchant.objects.filter(pk=shop.pk).update(storefront_origin=STOREFRONT)
    shop.refresh_from_db()
    return shop


@pytest.fixture
def publishable(shop):
    return api_key_create(shop=shop, name="storefront", kind=ApiKey.Kind.PUBLISHABLE)[1]


@pytest.fixture
def secret(shop):
    return api_key_create(shop=shop, name="server")[1]


@pytest.fixture
def socks(shop):
    return ProductFactory(shop=shop, external_id="p-socks", title="Wool socks", sku="SOCK-1")


def photo(review: Review) -> ReviewMedia:
    media = ReviewMedia(
        review=review, kind="photo", content_type="image/jpeg", size_bytes=3, width=4, height=3, sha256=f"s{review.pk}"
    )
    media.file.save("upload", ContentFile(b"jpg"), save=False)
    media.save()
    return media


def get(client, key, product="p-socks", **params):
    return client.get(URL.format(product), params, HTTP_AUTHORIZATION=f"Bearer {key}")


class TestWhatTheStorefrontSees:
    def test_published_reviews_newest_first_with_summary_reply_photos_and_jsonld(
        self, client, shop, socks, publishable
    ):
        customer = CustomerFactory(shop=shop, first_name="Jamie", last_name="Rivera")
        now = timezone.now()
        newest = ReviewFactory(
            shop=shop, product=socks, customer=customer, rating=5, title="Lovely", submitted_at=now,
            reply_text="Thank you, Jamie!", replied_at=now, incentivized=True, incentive_note="10% off",
        )  # fmt: skip
        picture = photo(newest)
        ReviewFactory(shop=shop, product=socks, rating=2, title="Holes", submitted_at=now - dt.timedelta(days=1))
        ReviewFactory(shop=shop, product=socks, rating=4, source="import", author_name="Kim (imported)",
                      submitted_at=now - dt.timedelta(days=2))  # fmt: skip
        ReviewFactory(shop=shop, product=socks, rating=1, status="pending", title="Waiting")
        ReviewFactory(shop=shop, product=socks, rating=1, status="hidden", hidden_reason="spam", title="Hidden")
        ReviewFactory(shop=shop, product=ProductFactory(shop=shop), rating=1, title="Another product")

        response = get(client, publishable)

        assert response.status_code == 200
        body = response.json()
        assert body["product"] == {"external_id": "p-socks", "title": "Wool socks", "sku": "SOCK-1"}
        assert body["summary"] == {
            "count": 3,
            "average": 3.67,
            "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        }
        assert [review["title"] for review in body["results"]] == ["Lovely", "Holes", "Comfortable"]
        first = body["results"][0]
        assert first["author"] == "Jamie R."
        assert first["reply"]["text"] == "Thank you, Jamie!"
        assert (first["incentivized"], first["incentive"]) == (True, "10% off")
        assert body["results"][1]["reply"] is None
        imported = body["results"][2]
        assert (imported["source"], imported["author"], imported["verified_purchase"]) == (
            "import", "Kim (imported)", False
        )  # fmt: skip
        assert "Waiting" not in response.content.decode()
        assert "Hidden" not in response.content.decode()
        assert body["jsonld"] == {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Wool socks",
            "sku": "SOCK-1",
            "aggregateRating": {
                "@type": "AggregateRating", "ratingValue": "3.67", "reviewCount": 3, "bestRating": 5, "worstRating": 1,
            },
        }  # fmt: skip
        [media] = first["media"]
        assert (media["kind"], media["width"], media["height"]) == ("photo", 4, 3)
        served = client.get(media["url"].removeprefix("http://localhost:8000"))
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == b"jpg"
        assert served["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert picture.pk == ReviewMedia.objects.get().pk

    def test_a_photo_address_stops_working_when_the_review_is_hidden_and_cannot_be_forged(
        self, client, shop, socks, publishable
    ):
        review = ReviewFactory(shop=shop, product=socks)
        photo(review)
        path = get(client, publishable).json()["results"][0]["media"][0]["url"].removeprefix("http://localhost:8000")
        assert client.get(path).status_code == 200
        assert client.get(path[:-2] + "xx").status_code == 404
        Review.objects.filter(pk=review.pk).update(status="hidden", hidden_reason="spam")
        assert client.get(path).status_code == 404

    def test_pages_of_a_chosen_size_with_links_and_a_sort(self, client, shop, socks, publishable):
        now = timezone.now()
        for stars in [1, 2, 3, 4, 5]:
            ReviewFactory(shop=shop, product=socks, rating=stars, submitted_at=now - dt.timedelta(hours=stars))
        first = get(client, publishable, page_size=2).json()
        assert [review["rating"] for review in first["results"]] == [1, 2]
        assert (first["page"], first["pages"], first["previous"]) == (1, 3, None)
        assert first["next"] == "http://testserver/api/v1/products/p-socks/reviews?page=2&page_size=2"
        last = get(client, publishable, page_size=2, page=3).json()
        assert [review["rating"] for review in last["results"]] == [5]
        assert last["next"] is None
        assert last["previous"] == "http://testserver/api/v1/products/p-socks/reviews?page=2&page_size=2"
        assert get(client, publishable, page=9).json()["results"] == []
        assert [r["rating"] for r in get(client, publishable, sort="highest", page_size=3).json()["results"]] == [
            5,
            4,
            3,
        ]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"page": "0"}, "page"),
            ({"page": "two"}, "page"),
            ({"page_size": "51"}, "page_size"),
            ({"sort": "x"}, "sort"),
        ],
    )
    def test_a_bad_parameter_is_refused_naming_it(self, client, shop, socks, publishable, params, field):
        response = get(client, publishable, **params)
        assert response.status_code == 422
        assert list(response.json()["error"]["fields"]) == [field]

    def test_a_product_without_reviews_has_an_empty_summary_and_no_rating_in_its_jsonld(
        self, client, shop, socks, publishable
    ):
        body = get(client, publishable).json()
        assert body["summary"] == {"count": 0, "average": None, "distribution": {str(n): 0 for n in range(1, 6)}}
        assert (body["results"], body["pages"]) == ([], 0)
        assert "aggregateRating" not in body["jsonld"]

    def test_the_jsonld_snippet_alone_for_a_server_side_template(self, client, shop, socks, publishable):
        ReviewFactory(shop=shop, product=socks, rating=4)
        response = client.get(URL.format("p-socks") + "/jsonld", {"key": publishable})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/ld+json"
        assert json.loads(response.content)["aggregateRating"]["ratingValue"] == "4.00"

    def test_a_page_costs_the_same_queries_for_2_or_20_reviews_with_photos(
        self, client, shop, socks, publishable, django_assert_num_queries
    ):
        for number in range(20):
            review = ReviewFactory(shop=shop, product=socks, customer=CustomerFactory(shop=shop), rating=number % 5 + 1)
            photo(review)
        get(client, publishable)  # the key's last use is written once a minute
        with CaptureQueriesContext(connection) as small:
            assert len(get(client, publishable, page_size=2).json()["results"]) == 2
        # The key, the product, the summary, the page with its authors, the page's photos.
        assert len(small.captured_queries) == 5
        with django_assert_num_queries(5):
            assert len(get(client, publishable, page_size=20).json()["results"]) == 20


class TestKeysAndTenancy:
    def test_another_shops_key_sees_nothing_404(self, client, shop, other_shop, socks):
        ReviewFactory(shop=shop, product=socks)
        theirs = api_key_create(shop=other_shop, name="theirs", kind=ApiKey.Kind.PUBLISHABLE)[1]
        response = get(client, theirs)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "Comfortable" not in response.content.decode()
        # The same external id in their shop is their product, with their reviews.
        ProductFactory(shop=other_shop, external_id="p-socks", title="Their socks")
        assert get(client, theirs).json()["summary"]["count"] == 0

    def test_a_publishable_key_reads_reviews_but_no_customer_or_order_data(self, client, shop, socks, publishable):
        assert get(client, publishable).status_code == 200
        assert client.get(URL.format("p-socks"), {"key": publishable}).status_code == 200
        orders = client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {publishable}")
        assert orders.status_code == 403
        assert client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {publishable}").status_code == 403

    def test_a_secret_key_works_from_a_server_but_never_from_a_web_page_or_in_a_url(self, client, shop, socks, secret):
        assert get(client, secret).status_code == 200
        from_page = client.get(URL.format("p-socks"), HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ORIGIN=STOREFRONT)
        assert from_page.status_code == 403
        assert "publishable key" in from_page.json()["error"]["message"]
        in_url = client.get(URL.format("p-socks"), {"key": secret})
        assert in_url.status_code == 401
        assert "never be put in a URL" in in_url.json()["error"]["message"]

    def test_no_key_or_a_revoked_key_is_401(self, client, shop, socks):
        key, raw = api_key_create(shop=shop, name="old", kind=ApiKey.Kind.PUBLISHABLE)
        assert client.get(URL.format("p-socks")).status_code == 401
        api_key_revoke(api_key=key)
        assert get(client, raw).status_code == 401


class TestCors:
    def test_only_the_shops_storefront_gets_the_cors_headers(self, client, shop, socks, publishable):
        ours = client.get(URL.format("p-socks"), {"key": publishable}, HTTP_ORIGIN=STOREFRONT)
        assert ours["Access-Control-Allow-Origin"] == STOREFRONT
        assert "Origin" in ours["Vary"]
        elsewhere = client.get(URL.format("p-socks"), {"key": publishable}, HTTP_ORIGIN="https://evil.example")
        assert elsewhere.status_code == 200  # a server may read it; a browser on that page may not
        assert "Access-Control-Allow-Origin" not in elsewhere

    def test_another_shops_storefront_gets_no_headers_with_this_shops_key(
        self, client, shop, other_shop, socks, publishable
    ):
        Merchant.objects.filter(pk=other_shop.pk).update(storefront_origin="https://beta.example")
        response = client.get(URL.format("p-socks"), {"key": publishable}, HTTP_ORIGIN="https://beta.example")
        assert "Access-Control-Allow-Origin" not in response

    def test_the_preflight_of_a_storefront_is_answered_without_a_key(self, client, shop):
        response = client.options(
            URL.format("p-socks"), HTTP_ORIGIN=STOREFRONT, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
        )  # fmt: skip
        assert response.status_code == 204
        assert response["Access-Control-Allow-Origin"] == STOREFRONT
        assert response["Access-Control-Allow-Headers"] == "Authorization"
        assert "GET" in response["Access-Control-Allow-Methods"]
        stranger = client.options(URL.format("p-socks"), HTTP_ORIGIN="https://evil.example")
        assert "Access-Control-Allow-Origin" not in stranger

    def test_the_owner_sets_the_storefront_address_and_a_bad_one_is_refused_naming_the_field(self, client, shop, owner):
        client.force_login(owner)
        form = {
            "name": shop.name, "country": "US", "time_zone": shop.time_zone, "default_language": "en",
            "currency": "USD", "storefront_origin": "https://Shop.Alpha.example/",
        }  # fmt: skip
        response = client.post(f"/admin/merchant/merchant/{shop.pk}/change/", form)
        assert response.status_code == 302
        shop.refresh_from_db()
        assert shop.storefront_origin == "https://shop.alpha.example"
        form["storefront_origin"] = "http://shop.alpha.example/reviews"
        response = client.post(f"/admin/merchant/merchant/{shop.pk}/change/", form)
        assert response.status_code == 200
        assert "storefront_origin" in response.context["adminform"].form.errors
        shop.refresh_from_db()
        assert shop.storefront_origin == "https://shop.alpha.example"

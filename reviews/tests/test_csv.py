"""CSV of reviews in the admin: the export of the list as filtered (every page, streamed, only the person's shops,
formulas defused) and the import of a file (each problem by line and column, nothing stored when a row is bad,
reviews marked as imported, products by id or SKU, the same file twice stored once)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from merchant.tests.factories import ProductFactory
from reviews.models import AttentionItem, Review
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db
EXPORT = reverse("admin:reviews_review_export")
IMPORT = reverse("admin:reviews_review_import")


def rows_of(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def upload(text: str, name: str = "reviews.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


@pytest.fixture
def products(review_shop):
    return {
        "socks": ProductFactory(shop=review_shop, external_id="p-socks", title="Wool socks", sku="SOCK-1"),
        "shoes": ProductFactory(shop=review_shop, external_id="p-shoes", title="Trail shoes", sku="SHOE-1"),
    }


class TestExport:
    def test_the_filtered_list_of_my_shops_every_page_with_formulas_defused(
        self, client, owner, review_shop, other_shop, products
    ):
        for number in range(120):  # more than one page of the list (100)
            ReviewFactory(shop=review_shop, product=products["socks"], rating=5, title=f"Great {number}")
        ReviewFactory(shop=review_shop, product=products["shoes"], rating=1, title="=HYPERLINK(\"http://x\")",
                      reply_text="Sorry!")  # fmt: skip
        ReviewFactory(shop=other_shop, rating=1, title="Their secret")
        client.force_login(owner)

        everything = rows_of(client.get(EXPORT))
        one_star = rows_of(client.get(EXPORT, {"rating": "1"}))

        assert len(everything) == 121
        assert "Their secret" not in {row["title"] for row in everything}
        [row] = one_star
        assert row["title"] == '\'=HYPERLINK("http://x")'
        assert (row["product_id"], row["sku"], row["rating"], row["reply"], row["source"]) == (
            "p-shoes", "SHOE-1", "1", "Sorry!", "review_request",
        )  # fmt: skip

    def test_the_page_links_to_the_export_of_what_it_shows_and_the_file_is_named(self, client, agent, review_shop):
        client.force_login(agent)
        page = client.get(reverse("admin:reviews_review_changelist"), {"rating": "5"}).content.decode()
        assert f'href="{EXPORT}?rating=5"' in page
        assert IMPORT not in page, "agents do not import"
        response = client.get(EXPORT, {"rating": "5"})
        assert response["Content-Disposition"].startswith('attachment; filename="reviews-')
        assert response["Content-Type"] == "text/csv; charset=utf-8"

    def test_the_export_costs_the_same_queries_for_3_or_30_reviews(
        self, client, owner, review_shop, products, django_assert_num_queries
    ):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for _ in range(3):
            ReviewFactory(shop=review_shop, product=products["socks"])
        client.force_login(owner)
        rows_of(client.get(EXPORT))
        with CaptureQueriesContext(connection) as counted:
            assert len(rows_of(client.get(EXPORT))) == 3
        for _ in range(27):
            ReviewFactory(shop=review_shop, product=products["socks"])
        with django_assert_num_queries(len(counted.captured_queries)):
            assert len(rows_of(client.get(EXPORT))) == 30


GOOD = """product_id,sku,rating,title,text,author,submitted_at,language
p-socks,,5,Warm,Lovely socks.,Kim L.,2026-03-01,en
,SHOE-1,2,Too small,Order a size up.,Jonas,2026-03-02T10:00:00Z,de
"""


class TestImport:
    def test_the_owner_imports_a_file_and_the_reviews_are_marked_as_imported(
        self, client, owner, review_shop, products
    ):
        client.force_login(owner)
        assert client.get(IMPORT).status_code == 200

        response = client.post(IMPORT, {"shop": review_shop.pk, "file": upload(GOOD)})

        assert response.status_code == 302
        warm, small = Review.objects.order_by("submitted_at")
        assert (warm.product, warm.rating, warm.author_name, warm.source, warm.status) == (
            products["socks"], 5, "Kim L.", "import", "published",
        )  # fmt: skip
        assert (small.product, small.language, small.submitted_at.isoformat()) == (
            products["shoes"], "de", "2026-03-02T10:00:00+00:00",
        )  # fmt: skip
        assert warm.events.get().action == "imported"
        assert warm.events.get().actor_user == owner
        assert not AttentionItem.objects.exists(), "history, not a customer waiting for an answer"
        listed = client.get(response["Location"])
        assert {review.pk for review in listed.context["cl"].result_list} == {warm.pk, small.pk}
        assert "Import" in listed.content.decode()

    def test_the_same_file_twice_stores_each_review_once(self, client, owner, review_shop, products):
        client.force_login(owner)
        client.post(IMPORT, {"shop": review_shop.pk, "file": upload(GOOD)})
        client.post(IMPORT, {"shop": review_shop.pk, "file": upload(GOOD)})
        assert Review.objects.count() == 2

    def test_every_bad_row_is_named_by_line_and_column_and_nothing_is_stored(
        self, client, owner, review_shop, other_shop, products
    ):
        ProductFactory(shop=review_shop, external_id="p-socks-2", sku="SOCK-1")  # the SKU names two products now
        ProductFactory(shop=other_shop, external_id="p-theirs")
        text = (
            "product_id,sku,rating,title,submitted_at,language\n"
            "p-socks,,5,Fine,2026-03-01,en\n"
            "p-theirs,,4,Not ours,,\n"
            ",SOCK-1,4,Which socks,,\n"
            "p-shoes,,6,Six stars,,\n"
            "p-shoes,,3,From the future,2999-01-01,\n"
            "p-shoes,,3,Bad language,,fr\n"
            ",,3,No product,,\n"
            "p-socks,,5,Fine,2026-03-01,en\n"
        )
        client.force_login(owner)
        response = client.post(IMPORT, {"shop": review_shop.pk, "file": upload(text)})
        assert response.status_code == 400
        problems = [(p.line, p.column) for p in response.context["parsed"].problems]
        assert problems == [
            (3, "product_id"), (4, "sku"), (5, "rating"), (6, "submitted_at"), (7, "language"), (8, "product_id"),
            (9, ""),
        ]  # fmt: skip
        page = response.content.decode()
        assert "Nothing was imported." in page
        assert "no product “p-theirs” in Alpha Shoes" in page
        assert "“SOCK-1” is the SKU of 2 products; give product_id instead" in page
        assert "“6” must be a whole number from 1 to 5" in page
        assert "the same review as line 2" in page
        assert not Review.objects.exists()

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("title,text\nHello,World\n", "Missing columns: rating, product_id or sku."),
            ("", "The file is empty"),
            ("rating,sku\n", "The file has no reviews below its header."),
        ],
    )
    def test_a_file_that_is_not_a_reviews_file_is_refused(self, client, owner, review_shop, text, words):
        client.force_login(owner)
        response = client.post(IMPORT, {"shop": review_shop.pk, "file": upload(text or " ")})
        assert response.status_code == 400
        assert words in response.content.decode()
        assert not Review.objects.exists()

    def test_agents_and_other_shops_cannot_import_here(self, client, agent, other_owner, review_shop, products):
        client.force_login(agent)
        assert client.get(IMPORT).status_code == 403
        assert client.post(IMPORT, {"shop": review_shop.pk, "file": upload(GOOD)}).status_code == 403
        client.force_login(other_owner)
        response = client.post(IMPORT, {"shop": review_shop.pk, "file": upload(GOOD)})
        assert response.status_code == 400
        assert "shop" in response.context["form"].errors
        assert not Review.objects.exists()

    def test_an_exported_file_imports_into_another_shop(self, client, owner, review_shop, other_shop, other_owner):
        ProductFactory(shop=review_shop, external_id="p-1", title="Mug", sku="MUG")
        ReviewFactory(shop=review_shop, product=review_shop.products.get(), rating=4, title="Nice mug", text="Big.")
        client.force_login(owner)
        exported = b"".join(client.get(EXPORT).streaming_content).decode("utf-8")
        ProductFactory(shop=other_shop, external_id="p-1", title="Their mug", sku="MUG")
        client.force_login(other_owner)
        response = client.post(IMPORT, {"shop": other_shop.pk, "file": upload(exported)})
        assert response.status_code == 302
        theirs = Review.objects.get(shop=other_shop)
        assert (theirs.rating, theirs.title, theirs.source) == (4, "Nice mug", "import")

"""The review page over HTTP: what GET shows (and that it changes nothing), what POST stores (once), editing until
the link expires, the friendly 410 and 404 pages, clear errors, the coupon, and unhappy customers reaching a person."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.signing import b64_encode
from django.test import Client

from reviews.links import review_token, review_url
from reviews.models import AttentionItem, NpsResponse, Review, ReviewEvent, ReviewRequest
from reviews.services.requests import review_request_cancel
from reviews.tests.factories import DELIVERED_AT, delivered_order
from reviews.uploads import REQUEST_MAX_BYTES

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
ASKED_AT = DELIVERED_AT + 7 * DAY


@pytest.fixture
def asked(review_shop, customer, products):
    """A request for socks and a washing machine (one group), and its link as made when the email was sent."""
    order = delivered_order(review_shop, customer, [products["socks"], products["washer"]])
    request = ReviewRequest.objects.get(order=order)
    with time_machine.travel(ASKED_AT, tick=False):
        path = urlsplit(review_url(request_id=request.pk, shop_id=review_shop.pk)).path
    return request, path


def items(request):
    return {item.title: item for item in request.items.all()}


def answer(request, **per_title):
    """POST data: {"Wool socks": {"rating": 5, "title": ...}} -> the form's field names."""
    data = {}
    by_title = items(request)
    for title, fields in per_title.items():
        for name, value in fields.items():
            data[f"item-{by_title[title].pk}-{name}"] = value
    return data


@pytest.fixture
def clock():
    with time_machine.travel(ASKED_AT + DAY, tick=False) as traveller:
        yield traveller


class TestShowing:
    def test_the_page_lists_the_items_in_the_customers_language_and_changes_nothing(self, client, asked, clock):
        request, path = asked
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Language"] == "en"
        assert response["Cache-Control"].startswith("max-age=0")
        page = response.content.decode()
        assert "How do you like your order #1001?" in page
        assert "Wool socks" in page
        assert "Washing machine" in page
        assert "How likely are you to recommend Alpha Shoes to a friend?" in page
        assert 'aria-label="5 stars"' in page
        assert " checked" not in page
        assert not Review.objects.exists()
        assert not ReviewEvent.objects.exists()
        request.refresh_from_db()
        assert request.status == "open"

    def test_a_star_tapped_in_the_message_only_prefills_the_page(self, client, asked, clock):
        request, path = asked
        page = client.get(path, {"stars": "4"}).content.decode()
        assert page.count('value="4" id="id_item-') == 2
        assert page.count(" checked") == 2, "both items start at 4 stars"
        assert not Review.objects.exists()
        assert client.get(path, {"stars": "9"}).content.decode().count(" checked") == 0

    def test_the_page_costs_a_fixed_number_of_queries(self, client, asked, clock, django_assert_num_queries, jpeg):
        request, path = asked
        # The request with its shop and policy, customer, order, NPS answer and whether the shop asks survey
        # questions; its items with their reviews; whether the customer answered the NPS question lately.
        with django_assert_num_queries(3):
            assert client.get(path).status_code == 200
        data = answer(
            request, **{"Wool socks": {"rating": "5", "photos": [jpeg("a.jpg"), jpeg("b.jpg", size=(10, 10))]}}
        )
        data.update(answer(request, **{"Washing machine": {"rating": "4", "photos": jpeg("c.jpg", size=(20, 20))}}))
        assert client.post(path, data).status_code == 303
        with django_assert_num_queries(4):  # and the photos of every review
            assert client.get(path).status_code == 200

    def test_editing_shows_the_customers_answers_and_the_shops_reply_escaped(self, client, asked, clock, jpeg):
        request, path = asked
        data = answer(
            request,
            **{"Wool socks": {"rating": "2", "title": 'Not "warm" <b>', "text": "Itchy\n& thin", "photos": jpeg()}},
        )
        data.update({"nps-score": "6", "nps-comment": "Meh <i>"})
        assert client.post(path, data).status_code == 303
        review = Review.objects.get()
        Review.objects.filter(pk=review.pk).update(reply_text="Sorry <script>\nWe will call you.")
        page = client.get(path, {"stars": "5"}).content.decode()
        socks = items(request)["Wool socks"].pk
        assert f'value="2" id="id_item-{socks}-rating_2" aria-label="2 stars" checked' in page, "their stars, not 5"
        assert 'value="Not &quot;warm&quot; &lt;b&gt;"' in page
        assert "Itchy\n&amp; thin</textarea>" in page
        assert "<p>Sorry &lt;script&gt;<br>We will call you.</p>" in page
        assert f'<img src="{path}/m/{review.media.get().pk}" alt="Your photo">' in page
        assert 'value="6" aria-label="6" checked' in page
        assert "Meh &lt;i&gt;</textarea>" in page
        assert "<script>" not in page
        assert "<b>" not in page

    def test_a_shop_without_a_review_policy_gets_the_default_link_life(self, client, asked, clock, policy):
        request, path = asked
        policy.delete()
        assert client.get(path).status_code == 200
        clock.move_to(ASKED_AT + 60 * DAY)
        assert client.get(path).status_code == 410

    @pytest.mark.parametrize(
        ("language", "heading", "button", "error", "expired"),
        [
            (
                "de",
                "Wie gefällt Ihnen Ihre Bestellung #2?",
                "Bewertung senden",
                "Wählen Sie 1 bis 5 Sterne, um Ihre Bewertung dieses Artikels zu senden.",
                "Dieser Link ist abgelaufen",
            ),
            (
                "ru",
                "Как Вам заказ #2?",
                "Отправить отзыв",
                "Выберите от 1 до 5 звёзд, чтобы отправить отзыв об этом товаре.",
                "Срок действия ссылки истёк",
            ),
            (
                "ko",
                "주문(#2)은 마음에 드시나요?",
                "리뷰 보내기",
                "이 상품의 리뷰를 보내려면 별을 1~5개 선택해 주세요.",
                "만료된 링크예요",
            ),
            ("zh-hans", "您对订单#2满意吗？", "提交评价", "请选择1到5颗星来提交对该商品的评价。", "此链接已过期"),
        ],
        ids=["de", "ru", "ko", "zh-hans"],
    )
    def test_the_page_speaks_the_customers_language(
        self, client, review_shop, customer, products, clock, language, heading, button, error, expired
    ):
        customer.language = language
        customer.save(update_fields=["language"])
        order = delivered_order(review_shop, customer, [products["socks"]], number="#2")
        request = ReviewRequest.objects.get(order=order)
        path = urlsplit(review_url(request_id=request.pk, shop_id=review_shop.pk)).path
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="en-US")
        assert response["Content-Language"] == language
        page = response.content.decode()
        assert heading in page
        assert button in page
        refused = client.post(path, {f"item-{request.items.get().pk}-text": "…"}).content.decode()
        assert error in refused
        clock.move_to(ASKED_AT + 61 * DAY)
        assert expired in client.get(path).content.decode()


class TestSending:
    def test_a_review_is_stored_once_and_the_customer_lands_on_the_thank_you_page(self, client, asked, clock):
        request, path = asked
        data = answer(request, **{"Wool socks": {"rating": "5", "title": "Warm", "text": "Soft and warm."}})
        data.update({"nps-score": "9", "nps-comment": "Fast delivery"})
        response = client.post(path, data)
        assert response.status_code == 303
        assert response["Location"] == f"{path}/thanks"
        again = client.post(path, data)  # a double tap, or the browser sending the form again
        assert again.status_code == 303

        review = Review.objects.get()
        assert (review.rating, review.title, review.text, review.status) == (5, "Warm", "Soft and warm.", "published")
        assert (review.product_title, review.customer, review.order) == ("Wool socks", request.customer, request.order)
        assert (review.source, review.language, review.incentivized) == ("review_request", "en", False)
        assert list(review.events.values_list("action", flat=True)) == ["submitted", "published"]
        nps = NpsResponse.objects.get()
        assert (nps.score, nps.comment, nps.band) == (9, "Fast delivery", "promoter")
        request.refresh_from_db()
        assert request.status == "reviewed"
        thanks = client.get(response["Location"])
        assert thanks.status_code == 200
        page = thanks.content.decode()
        assert "Thank you for your review!" in page
        assert "Your coupon" not in page
        assert "Change your review" in page

    def test_the_customer_edits_the_review_until_the_link_expires(self, client, asked, clock, policy):
        request, path = asked
        client.post(path, answer(request, **{"Wool socks": {"rating": "3", "text": "Itchy."}}))
        page = client.get(path).content.decode()
        assert "Itchy." in page
        assert "Save changes" in page
        client.post(path, answer(request, **{"Wool socks": {"rating": "4", "text": "Itchy at first, fine now."}}))
        review = Review.objects.get()
        assert (review.rating, review.text) == (4, "Itchy at first, fine now.")
        assert review.edited_at is not None
        edit = review.events.get(action="edited")
        assert edit.actor_kind == "customer"
        assert "Was 3 stars" in edit.note

        clock.move_to(ASKED_AT + (policy.link_valid_days - 1) * DAY)
        assert client.get(path).status_code == 200
        clock.move_to(ASKED_AT + policy.link_valid_days * DAY)
        expired = client.post(path, answer(request, **{"Wool socks": {"rating": "1"}}))
        assert expired.status_code == 410
        assert "This link has expired" in expired.content.decode()
        assert "help@alpha.example" in expired.content.decode()
        assert Review.objects.get().rating == 4

    def test_nothing_chosen_or_words_without_stars_is_refused_naming_the_field(self, client, asked, clock):
        request, path = asked
        nothing = client.post(path, {})
        assert nothing.status_code == 400
        assert "Choose the stars for an item, or answer the question at the end." in nothing.content.decode()
        words_only = client.post(path, answer(request, **{"Washing machine": {"text": "Loud."}}))
        assert words_only.status_code == 400
        page = words_only.content.decode()
        assert "Washing machine · Stars: Choose 1 to 5 stars to send your review of this item." in page
        assert "Loud." in page, "what the customer typed is kept"
        too_long = client.post(path, answer(request, **{"Wool socks": {"rating": "5", "title": "x" * 151}}))
        assert too_long.status_code == 400
        assert "Wool socks · Title: Ensure this value has at most 150 characters" in too_long.content.decode()
        assert not Review.objects.exists()

    def test_the_links_token_and_not_a_cookie_allows_a_post(self, asked, clock):
        # Given a browser that keeps no cookie and sends no CSRF token
        request, path = asked
        browser = Client(enforce_csrf_checks=True)
        data = answer(request, **{"Wool socks": {"rating": "4"}})
        # When it opens the page and sends the form
        opened = browser.get(path)
        sent = browser.post(path, data)
        # Then nothing asked it for a cookie, and the link alone stored the review
        assert "Set-Cookie" not in opened
        assert "csrfmiddlewaretoken" not in opened.content.decode()
        assert sent.status_code == 303
        assert Review.objects.get().rating == 4
        # while the same form sent to a link whose token was changed reaches nothing
        tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        assert browser.post(tampered, answer(request, **{"Washing machine": {"rating": "1"}})).status_code == 404
        assert Review.objects.count() == 1

    def test_a_body_over_the_limit_is_refused_before_it_is_read(self, client, asked, clock):
        _request, path = asked
        response = client.post(path, {}, CONTENT_LENGTH=str(REQUEST_MAX_BYTES + 1))
        assert response.status_code == 413
        assert "Too much at once" in response.content.decode()
        assert not Review.objects.exists()


class TestCoupon:
    def test_every_honest_review_gets_the_coupon_whatever_its_rating_and_is_marked(self, client, asked, clock, policy):
        policy.coupon_code = "THANKS-10"
        policy.coupon_description = "10% off your next order"
        policy.save()
        request, path = asked
        page = client.get(path).content.decode()
        assert "A thank-you for every honest review, good or bad: 10% off your next order" in page
        client.post(path, answer(request, **{"Wool socks": {"rating": "1", "text": "Holes after a week."}}))
        thanks = client.get(f"{path}/thanks").content.decode()
        assert "THANKS-10" in thanks
        assert "Every honest review gets this coupon, whatever its rating" in thanks
        assert "We are sorry it was not what you hoped for" in thanks
        review = Review.objects.get()
        assert (review.incentivized, review.incentive_note) == (True, "10% off your next order")
        request.refresh_from_db()
        assert request.coupon_code == "THANKS-10"

        # The offer is frozen when the review is written: a later change does not touch it.
        policy.coupon_code = "OTHER"
        policy.save()
        client.post(path, answer(request, **{"Washing machine": {"rating": "5"}}))
        assert Review.objects.filter(incentivized=True).count() == 2
        assert "THANKS-10" in client.get(f"{path}/thanks").content.decode()


class TestUnhappyCustomers:
    def test_one_star_and_a_low_nps_score_need_a_person_with_a_deadline(self, client, asked, clock, policy):
        request, path = asked
        data = answer(request, **{"Wool socks": {"rating": "1", "title": "Fell apart"}})
        data["nps-score"] = "3"
        client.post(path, data)
        low, detractor = AttentionItem.objects.order_by("-kind")
        assert (low.kind, low.status, low.review.rating) == ("low_rating", "open", 1)
        assert low.due_at == ASKED_AT + DAY + dt.timedelta(hours=policy.attention_hours)
        assert "1/5 · Wool socks · Fell apart" in low.summary
        assert (detractor.kind, detractor.nps.score) == ("detractor", 3)
        assert Review.objects.get().status == "published", "a negative review publishes like any other"
        client.post(path, answer(request, **{"Wool socks": {"rating": "2", "title": "Fell apart"}}))
        assert AttentionItem.objects.count() == 2, "one item per review, however often it is edited"

    def test_three_stars_and_a_seven_need_nobody(self, client, asked, clock):
        request, path = asked
        data = answer(request, **{"Wool socks": {"rating": "3"}})
        data["nps-score"] = "7"
        client.post(path, data)
        assert not AttentionItem.objects.exists()


class TestLinks:
    def assert_not_found(self, client, path):
        response = client.get(path)
        assert response.status_code == 404
        page = response.content.decode()
        assert "This link does not work" in page
        for secret in ("Alpha Shoes", "Jamie", "#1001", "Wool socks", "help@alpha.example"):
            assert secret not in page
        return page

    def test_tampered_made_up_and_other_shops_links_show_the_same_page(self, client, asked, clock, other_shop):
        request, path = asked
        token = path.removeprefix("/r/")
        payload, stamp, signature = token.split(":")
        pages = {
            self.assert_not_found(client, candidate)
            for candidate in (
                f"/r/{token[:-1]}{'B' if token[-1] == 'A' else 'A'}",
                f"/r/{b64_encode(f'[{request.pk + 1},{request.shop_id}]'.encode()).decode()}:{stamp}:{signature}",
                f"/r/{review_token(request_id=request.pk, shop_id=other_shop.pk)}",  # genuine, wrong shop
                f"/r/{review_token(request_id=request.pk + 100, shop_id=request.shop_id)}",  # genuine, no request
                "/r/nonsense",
                f"{path}/thanks".replace(token, token[:-2]),
            )
        }
        assert len(pages) == 1
        assert client.post(f"/r/{token[:-1]}x", {}).status_code == 404
        assert not Review.objects.exists()

    def test_a_link_for_one_shop_never_shows_another_shops_data(self, client, asked, clock, other_shop, products):
        from merchant.models import Customer
        from reviews.services.policy import review_setup_for_shop

        review_setup_for_shop(other_shop)
        request, path = asked
        page = client.get(path).content.decode()
        assert "Beta Tea" not in page
        stranger = Customer.objects.create(shop=other_shop, email="x@beta.example")
        theirs = ReviewRequest.objects.create(
            shop=other_shop, order=request.order, customer=stranger, group_days=99, due_at=ASKED_AT
        )
        # A genuine link to their request, with our shop in it, finds nothing.
        self.assert_not_found(client, f"/r/{review_token(request_id=theirs.pk, shop_id=request.shop_id)}")

    def test_a_cancelled_request_shows_the_friendly_gone_page(self, client, asked, clock):
        request, path = asked
        review_request_cancel(request=request, words="the order was refunded.")
        response = client.get(path)
        assert response.status_code == 410
        assert "This link is no longer active" in response.content.decode()

    def test_the_customers_own_photo_is_served_to_the_link_only(self, client, asked, clock, jpeg):
        request, path = asked
        data = answer(request, **{"Wool socks": {"rating": "5", "photos": jpeg()}})
        assert client.post(path, data).status_code == 303
        media = Review.objects.get().media.get()
        photo = client.get(f"{path}/m/{media.pk}")
        assert photo.status_code == 200
        assert photo["Content-Type"] == "image/jpeg"
        assert photo["Cache-Control"] == "private, max-age=3600"
        assert client.get(f"{path}/m/{media.pk + 1}").status_code == 404
        other = review_token(request_id=request.pk + 100, shop_id=request.shop_id)
        assert client.get(f"/r/{other}/m/{media.pk}").status_code == 404


class TestTemplateLinks:
    def test_only_review_messages_carry_the_review_links(self, review_shop, settings):
        from journeys.context import links_all
        from journeys.models import Message
        from reviews.links import token_read

        def links(trigger: str, step: str) -> dict[str, str]:
            message = Message(shop=review_shop, trigger=trigger, step=step)
            return {name: spec.make(message) for name, spec in links_all().items() if name.startswith("review")}

        assert set(links("delivered", "0").values()) == {""}
        request_links = links("review_reminder", "review-42-reminder-1")
        assert set(request_links) == {"review", *(f"review_star_{stars}" for stars in range(1, 6))}
        token = request_links["review"].removeprefix(f"{settings.PUBLIC_BASE_URL}/r/")
        payload = token_read(token)
        assert (payload.request_id, payload.shop_id) == (42, review_shop.pk)
        assert request_links["review_star_3"].endswith("?stars=3")
        assert links("review_request", "0")["review"] == f"{settings.PUBLIC_BASE_URL}/r/example", "an admin preview"

"""The return portal as customers see it: a signed link per order, the form (GET changes nothing), a request
sent with POST, the return's page, the list of the order's returns with a cancel button, friendly pages for bad
and expired links, the customer's language; and the link carried by the delivered message."""

import datetime as dt
from io import BytesIO
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from journeys.models import Message
from journeys.services.content import message_context
from journeys.tests.factories import MessageFactory
from merchant.models import Order
from returns.links.portal import LINK_VALID_DAYS, portal_token, return_portal_url
from returns.models import ReturnPolicy, ReturnRequest
from returns.tests.factories import delivered_order

pytestmark = pytest.mark.django_db


def path_of(order) -> str:
    return urlsplit(return_portal_url(order)).path


def jpeg(name="damage.jpg") -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 200)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def form_data(order, **overrides):
    first, second = order.lines.order_by("id")
    data = {f"line-{first.pk}": "1", f"line-{second.pk}": "0", "reason": "too_small", "comment": "",
            "refund_method": "original_payment"}  # fmt: skip
    data.update(overrides)
    return data


class TestPortalPage:
    def test_the_page_lists_the_items_and_until_when_and_changes_nothing(self, client, order, return_policy):
        response = client.get(path_of(order))
        page = response.content.decode()
        assert response.status_code == 200
        assert f"Return items from order {order.number}" in page
        assert "Item 1" in page
        assert "Item 2" in page
        assert "You can return items until" in page
        assert response["Content-Language"] == "en"
        assert response["Cache-Control"].startswith("max-age=0")
        assert not ReturnRequest.objects.exists()

    def test_a_request_is_stored_and_the_customer_lands_on_its_page(self, client, order, return_policy):
        response = client.post(path_of(order), form_data(order, reason="damaged", photos=[jpeg()]))
        assert response.status_code == 303
        created = ReturnRequest.objects.get()
        assert (created.reason, created.photos.count(), created.lines.get().quantity) == ("damaged", 1, 1)
        page = client.get(response["Location"]).content.decode()
        assert f"Return {created.number}" in page
        assert "Thank you, we received your request." in page
        assert "Cancel return" in page
        assert Message.objects.filter(order=order, trigger="return_requested").exists()

    def test_nothing_chosen_is_refused_on_the_page_and_nothing_is_stored(self, client, order, return_policy):
        first, _second = order.lines.order_by("id")
        response = client.post(path_of(order), form_data(order, **{f"line-{first.pk}": "0"}))
        assert response.status_code == 400
        assert "Choose at least one item to return." in response.content.decode()
        assert not ReturnRequest.objects.exists()

    def test_a_file_that_is_not_a_photo_is_refused_naming_it(self, client, order, return_policy):
        fake = SimpleUploadedFile("invoice.jpg", b"%PDF-1.7 not a photo", content_type="image/jpeg")
        response = client.post(path_of(order), form_data(order, photos=[fake]))
        assert response.status_code == 400
        assert "“invoice.jpg” is not a JPEG, PNG or WebP photo." in response.content.decode()
        assert not ReturnRequest.objects.exists()

    def test_a_quantity_taken_meanwhile_by_another_request_is_refused(self, client, order, return_policy):
        client.post(path_of(order), form_data(order))
        response = client.post(path_of(order), form_data(order))
        assert response.status_code == 400
        assert ReturnRequest.objects.count() == 1

    def test_an_order_not_delivered_yet_says_so_and_offers_no_form(self, client, shop, return_policy):
        order = delivered_order(shop=shop)
        Order.objects.filter(pk=order.pk).update(delivered_at=None, status=Order.Status.SHIPPED)
        page = client.get(path_of(order)).content.decode()
        assert "Your order has not been delivered yet." in page
        assert "<form" not in page

    def test_after_the_window_the_page_names_the_day_it_ended(self, client, shop, return_policy):
        order = delivered_order(shop=shop, days_ago=40)
        page = client.get(path_of(order)).content.decode()
        assert "The return window ended on" in page
        assert "<form" not in page

    def test_the_page_speaks_the_customers_language(self, client, order, return_policy):
        order.customer.language = "de"
        order.customer.save()
        response = client.get(path_of(order))
        assert response["Content-Language"] == "de"
        page = response.content.decode()
        assert '<html lang="de">' in page
        assert f"Artikel aus Bestellung {order.number} zurücksenden" in page
        assert "Beschädigt angekommen" in page

    def test_only_the_refund_methods_of_the_policy_are_offered(self, client, order, return_policy):
        ReturnPolicy.objects.filter(pk=return_policy.pk).update(refund_methods=["store_credit"])
        page = client.get(path_of(order)).content.decode()
        assert 'type="hidden" name="refund_method" value="store_credit"' in page


class TestLinks:
    def test_a_tampered_token_gets_the_friendly_not_found_page(self, client, order):
        response = client.get(path_of(order)[:-3] + "xyz")
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()

    def test_a_token_of_another_shop_finds_nothing(self, client, order, other_shop):
        response = client.get(reverse("return-portal", args=[portal_token(order_id=order.pk, shop_id=other_shop.pk)]))
        assert response.status_code == 404

    def test_an_expired_link_gets_a_friendly_page_in_the_customers_language(self, client, order):
        order.customer.language = "de"
        order.customer.save()
        path = path_of(order)
        with time_machine.travel(timezone.now() + dt.timedelta(days=LINK_VALID_DAYS + 1)):
            response = client.get(path)
        assert response.status_code == 410
        assert response["Content-Language"] == "de"

    def test_another_orders_request_is_not_found_through_this_link(self, client, shop, order, return_policy):
        other = delivered_order(shop=shop)
        client.post(path_of(other), form_data(other))
        foreign = ReturnRequest.objects.get(order=other)
        token = urlsplit(return_portal_url(order)).path.split("/")[2]
        assert client.get(reverse("return-request", args=[token, foreign.pk])).status_code == 404
        assert client.post(reverse("return-request-cancel", args=[token, foreign.pk])).status_code == 404
        foreign.refresh_from_db()
        assert foreign.status == ReturnRequest.Status.REQUESTED

    def test_the_delivered_message_carries_the_portal_link(self, shop, order):
        message = MessageFactory(shop=shop, order=order, customer=order.customer, trigger="delivered")
        link = message_context(message)["links"]["return_portal"]
        assert link == return_portal_url(order)


class TestRequestsList:
    def token(self, order) -> str:
        return path_of(order).split("/")[2]

    def test_the_list_shows_each_return_and_cancel_works_only_with_post(
        self, client, order, return_policy, django_assert_max_num_queries
    ):
        client.post(path_of(order), form_data(order))
        request = ReturnRequest.objects.get()
        url = reverse("return-requests", args=[self.token(order)])
        with django_assert_max_num_queries(6):
            page = client.get(url).content.decode()
        assert request.number in page
        assert "Cancel return" in page
        cancel = reverse("return-request-cancel", args=[self.token(order), request.pk])
        assert client.get(cancel).status_code == 405
        request.refresh_from_db()
        assert request.status == ReturnRequest.Status.REQUESTED
        response = client.post(cancel)
        assert (response.status_code, response["Location"]) == (303, url)
        request.refresh_from_db()
        assert request.status == ReturnRequest.Status.CANCELLED
        assert request.events.get(to_status="cancelled").actor_kind == "customer"
        assert "Cancel return" not in client.get(url).content.decode()

    def test_the_number_of_queries_does_not_grow_with_the_returns(
        self, client, shop, return_policy, django_assert_max_num_queries
    ):
        order = delivered_order(shop=shop, lines=6)
        for line in order.lines.all():
            client.post(
                path_of(order), {f"line-{line.pk}": "1", "reason": "too_small", "refund_method": "original_payment"}
            )
        assert ReturnRequest.objects.count() == 6
        with django_assert_max_num_queries(6):
            client.get(reverse("return-requests", args=[self.token(order)]))

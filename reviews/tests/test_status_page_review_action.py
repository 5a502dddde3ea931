"""The order status page (journeys.status) offers "Write a review" once the order is delivered and reviews has
asked for one: the link opens that request's review page; before delivery, or without a request, nothing."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse

from journeys.status.links import order_status_token
from reviews.models import ReviewRequest
from reviews.services.requests import review_request_cancel
from reviews.tests.factories import DELIVERED_AT, delivered_order

pytestmark = pytest.mark.django_db


def actions_of(client, order) -> dict[str, str]:
    response = client.get(reverse("order-status", args=[order_status_token(order_id=order.pk, shop_id=order.shop_id)]))
    assert response.status_code == 200
    return {action.name: action.url for action in response.context["page"].actions}


@pytest.fixture
def clock():
    with time_machine.travel(DELIVERED_AT + dt.timedelta(days=2), tick=False) as traveller:
        yield traveller


def test_a_delivered_order_with_a_review_request_offers_its_review_page(client, review_shop, customer, products, clock):
    order = delivered_order(review_shop, customer, [products["socks"]])
    request = ReviewRequest.objects.get(order=order)

    url = actions_of(client, order)["review"]

    page = client.get(urlsplit(url).path)
    assert page.status_code == 200
    assert f"How do you like your order {order.number}?" in page.content.decode()
    assert urlsplit(url).path.startswith("/r/")
    assert request.status == ReviewRequest.Status.OPEN


def test_a_cancelled_request_is_not_offered(client, review_shop, customer, products, clock):
    order = delivered_order(review_shop, customer, [products["socks"]])
    review_request_cancel(request=ReviewRequest.objects.get(order=order), words="returned")
    assert "review" not in actions_of(client, order)


def test_an_order_without_a_request_offers_no_review(client, shop, customer, products, clock):
    order = delivered_order(shop, customer, [products["socks"]])
    ReviewRequest.objects.filter(order=order).delete()
    assert "review" not in actions_of(client, order)

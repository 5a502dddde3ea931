"""A test-only page that shows the status page's notification offer (until the status page itself is merged).

The browser test points ROOT_URLCONF here: this page, then every route of the product."""

from django.http import HttpRequest, HttpResponse
from django.template import RequestContext, Template
from django.urls import include, path

PAGE = Template(
    '{% extends "customer/base.html" %}{% block content %}<h1>Order #1001</h1>'
    '{% include "customer/status/push_offer.html" %}{% endblock %}'
)


def offer_page(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse(PAGE.render(RequestContext(request, {"token": token})))


urlpatterns = [
    path("push-offer-page/<str:token>", offer_page),
    path("", include("merchant.urls")),
]

"""What the customer reads at each step (the values of return messages, rendered from the shipped copy), and the
demo shop's returns in various states."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from journeys.models import Message, MessageTemplate
from journeys.services.content import content_render, message_context
from merchant import services as merchant_services
from merchant.actors import Actor
from returns.demo_cases import cases_demo_step
from returns.models import Case, CaseEntry, Dispute, ReturnPolicy, ReturnRequest
from returns.services.requests import LineChoice, return_request_approve, return_request_create
from returns.services.requests.demo import returns_demo_seed
from returns.tests.factories import delivered_order

pytestmark = pytest.mark.django_db


def test_the_approval_email_carries_the_number_items_instructions_deadline_and_portal_link(shop, order, return_policy):
    ReturnPolicy.objects.filter(pk=return_policy.pk).update(return_instructions="Post it to 1 Harbour Road.")
    line = order.lines.order_by("id").first()
    request = return_request_create(
        order=order, lines=[LineChoice(line.pk, 1)], reason="too_small", actor=Actor.customer("Ada")
    )
    approved_at = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    return_request_approve(return_request=request, actor=Actor.system("test"), now=approved_at)
    message = Message.objects.get(trigger="return_approved", step=f"return-{request.pk}")
    context = message_context(message)
    assert (context["return_number"], context["return_items"]) == (request.number, "1 × Item 1")
    assert context["return_deadline"] == approved_at + dt.timedelta(days=28)
    template = MessageTemplate.objects.get(rule=message.rule, channel="email", language="en")
    content = content_render(template, context, time_zone="UTC")
    assert f"Your return {request.number} is approved" in content.subject
    assert "Post it to 1 Harbour Road." in content.html_body
    assert "29 December" in content.html_body
    assert context["links"]["return_portal"] in content.html_body


def test_the_approval_text_links_to_the_returns_own_page_which_says_how_to_send_the_items(
    client, shop, order, return_policy
):
    # Given an approved return of a shop that explains where to send items
    ReturnPolicy.objects.filter(pk=return_policy.pk).update(return_instructions="Post it to 1 Harbour Road.")
    line = order.lines.order_by("id").first()
    request = return_request_create(
        order=order, lines=[LineChoice(line.pk, 1)], reason="too_small", actor=Actor.customer("Ada")
    )
    return_request_approve(return_request=request, actor=Actor.system("test"))
    message = Message.objects.get(trigger="return_approved", step=f"return-{request.pk}")
    # When the customer follows the link of the approval text on their phone
    link = message_context(message)["links"]["return_portal"]
    template = MessageTemplate.objects.get(rule=message.rule, channel="sms", language="en")
    assert link in content_render(template, message_context(message), time_zone="UTC").body
    page = client.get(urlsplit(link).path)
    # Then they land on that return's page, which says how and by when to send the items
    assert page.status_code == 200
    assert "Post it to 1 Harbour Road." in page.content.decode()
    assert request.number in page.content.decode()


def test_messages_of_other_triggers_get_empty_return_values_without_a_query(shop, order, django_assert_num_queries):
    from journeys.tests.factories import MessageFactory

    message = MessageFactory(shop=shop, order=order, customer=order.customer, trigger="delivered", step="return-1")
    from returns.triggers.requests import RETURN_VALUES

    with django_assert_num_queries(0):
        assert all(value.make(message) == "" for value in RETURN_VALUES)


def test_the_demo_shop_gets_returns_in_various_states_once(db):
    shop = merchant_services.merchant_create(
        name="Demo", slug="demo-returns", country="US", time_zone="America/New_York", is_demo=True
    )
    for days in range(1, 10):
        delivered_order(shop=shop, days_ago=days)
    assert returns_demo_seed(shop, now=timezone.now()) == {"RETURN_REQUESTS_CREATED": 8}
    statuses = set(ReturnRequest.objects.filter(shop=shop).values_list("status", flat=True))
    assert statuses >= {"requested", "needs_review", "approved", "in_transit", "received", "inspected", "declined"}
    assert returns_demo_seed(shop) == {"RETURN_REQUESTS_CREATED": 0}


def test_the_demo_queue_has_customer_messages_and_a_dispute_besides_the_returns_once(db):
    # Given the demo shop with its returns already in the queue
    shop = merchant_services.merchant_create(
        name="Demo", slug="demo-queue", country="US", time_zone="America/New_York", is_demo=True
    )
    for days in range(1, 15):
        delivered_order(shop=shop, days_ago=days)
    returns_demo_seed(shop, now=timezone.now())
    # When the queue's demo step runs (twice, as `make run` may)
    first = cases_demo_step(shop)
    second = cases_demo_step(shop)
    # Then the queue shows customers' messages and a chargeback due tomorrow, made once
    assert (first["support_cases"], second["support_cases"]) == (5, 0)
    assert CaseEntry.objects.filter(case__shop=shop, kind="customer_message").count() == 5
    dispute = Dispute.objects.get(shop=shop)
    assert (dispute.status, dispute.provider) == ("needs_response", "marketplace")
    assert Case.objects.get(shop=shop, order=dispute.order).due_at <= dispute.due_at

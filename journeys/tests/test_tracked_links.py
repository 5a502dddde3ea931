"""Links in messages become short /l/<token> links: one per URL per message, the same on a retry; a click
redirects (302), is counted and marks the message clicked, whoever clicks; an unknown token is a friendly 404."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client

from journeys import context as template_context
from journeys.context import LinkSpec
from journeys.models import TrackedLink
from journeys.services.content import Content, content_links_shorten, message_content
from journeys.services.links import links_find, links_shorten
from journeys.sms_encoding import sms_length
from journeys.tests.factories import CareRuleFactory, MessageFactory, MessageTemplateFactory
from merchant.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
CLICKED = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)
TRACKING = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=JJD000390007654321123"


@pytest.fixture
def message(shop):
    customer = CustomerFactory(shop=shop, first_name="Kim", email="kim@example.com", phone="+4915112345678")
    return MessageFactory(shop=shop, customer=customer, channel="sms", status="sent", address="+4915112345678")


def short_tokens(text: str) -> list[str]:
    return [word.rsplit("/l/", 1)[1].rstrip(".)") for word in text.split() if "/l/" in word]


class TestShortening:
    def test_every_link_of_a_text_becomes_a_short_link_and_the_same_url_one_token(self, message):
        text = f"Track it: {TRACKING}. Again: {TRACKING} or see (https://alpha.example/faq)."
        short = links_shorten(message=message, text=text)
        first, second, faq = short_tokens(short)
        assert first == second
        assert short.startswith("Track it: https://testserver/l/")
        assert short.endswith(f"or see (https://testserver/l/{faq}).")
        assert dict(TrackedLink.objects.values_list("url", "token")) == {
            TRACKING: first,
            "https://alpha.example/faq": faq,
        }
        assert len(first) == 11

    def test_rendering_the_message_again_gives_the_same_links(self, message):
        text = f"Track it: {TRACKING}"
        assert links_shorten(message=message, text=text) == links_shorten(message=message, text=text)
        assert TrackedLink.objects.count() == 1

    def test_another_message_gets_its_own_token_for_the_same_url(self, message):
        other = MessageFactory(shop=message.shop, customer=message.customer, channel="sms")
        assert short_tokens(links_shorten(message=message, text=TRACKING)) != short_tokens(
            links_shorten(message=other, text=TRACKING)
        )

    def test_a_link_written_straight_before_chinese_text_ends_where_the_url_ends(self, message):
        short = links_shorten(message=message, text="点击https://shop.example.cn/o/42查看物流。")
        assert short.startswith("点击https://testserver/l/")
        assert short.endswith("查看物流。")
        assert TrackedLink.objects.get().url == "https://shop.example.cn/o/42"

    def test_html_hrefs_and_visible_urls_are_shortened_but_not_images_or_styles(self, message):
        html = (
            "<style>.logo { background: url(https://cdn.alpha.example/bg.png) }</style>"
            '<p><a href="https://alpha.example/o/1?a=1&amp;b=2">Your order</a> '
            '<img src="https://cdn.alpha.example/logo.png"> '
            '<a href="https://t.example/x">https://t.example/x</a> <a href="mailto:help@alpha.example">help</a></p>'
        )
        short = links_shorten(message=message, text=html, is_html=True)
        links = dict(TrackedLink.objects.values_list("url", "token"))
        assert set(links) == {"https://alpha.example/o/1?a=1&b=2", "https://t.example/x"}, "unescaped, no image"
        assert f'<a href="https://testserver/l/{links["https://alpha.example/o/1?a=1&b=2"]}">Your order</a>' in short
        tracked = f"https://testserver/l/{links['https://t.example/x']}"
        assert f'<a href="{tracked}">{tracked}</a>' in short, "the visible address matches the link"
        assert "https://cdn.alpha.example/logo.png" in short
        assert "https://cdn.alpha.example/bg.png" in short
        assert "mailto:help@alpha.example" in short

    def test_our_own_unsubscribe_and_short_links_are_left_alone(self, message):
        text = "Stop: https://testserver/u/abc:def:ghi Short: https://testserver/l/AbCdEfGhIjK"
        assert links_find(text) == []
        assert links_shorten(message=message, text=text) == text

    def test_a_shorter_sms_needs_fewer_segments(self, message):
        body = f"Alpha Shoes: your parcel from order #1001 is on its way with Deutsche Post DHL. Track it: {TRACKING}"
        long = Content(subject="", body=body, html_body="", segments=sms_length(body).segments, language="en")
        short = content_links_shorten(message=message, content=long)
        assert (long.segments, short.segments) == (2, 1)
        assert short.segments == sms_length(short.body).segments

    def test_a_registered_link_of_another_app_still_leads_to_its_page(self, message, monkeypatch):
        # e.g. reviews registers links.review: a signed customer page that must work through the short link.
        page = "https://testserver/r/eyJvIjo0Mn0:1tXyZ:5g8Q2fHbqLrKOlMN?lang=de"
        monkeypatch.setitem(
            template_context._links, "review", LinkSpec("review", "Review page", page, make=lambda message: page)
        )
        rule = CareRuleFactory(shop=message.shop, channel="sms", fallback_channel="")
        MessageTemplateFactory(rule=rule, channel="sms", language="en", body="Rate us: {{ links.review }}")
        message.rule = rule
        message.save(update_fields=["rule"])
        content = content_links_shorten(message=message, content=message_content(message))
        response = Client().get(urlsplit(content.body.removeprefix("Rate us: ")).path)
        assert (response.status_code, response["Location"]) == (302, page)


class TestClicks:
    def test_a_click_redirects_counts_and_marks_the_message_clicked_and_a_forward_counts_too(self, message):
        path = urlsplit(links_shorten(message=message, text=TRACKING)).path
        with time_machine.travel(CLICKED, tick=False):
            response = Client().get(path)
        assert (response.status_code, response["Location"]) == (302, TRACKING)
        assert response["Cache-Control"].startswith("max-age=0")
        assert b"kim" not in response.content.lower()
        assert "kim" not in str(response.headers).lower()
        with time_machine.travel(CLICKED + dt.timedelta(days=2), tick=False):
            assert Client().get(path).status_code == 302  # someone the message was forwarded to
        link = TrackedLink.objects.get()
        assert (link.clicks, link.first_clicked_at, link.last_clicked_at) == (
            2,
            CLICKED,
            CLICKED + dt.timedelta(days=2),
        )
        message.refresh_from_db()
        assert message.clicked_at == CLICKED

    def test_a_link_checkers_head_request_counts_nothing(self, message):
        path = urlsplit(links_shorten(message=message, text=TRACKING)).path
        assert Client().head(path).status_code == 302
        assert TrackedLink.objects.get().clicks == 0
        message.refresh_from_db()
        assert message.clicked_at is None

    def test_an_unknown_token_is_a_friendly_404(self, message):
        links_shorten(message=message, text=TRACKING)
        response = Client().get("/l/NoSuchToken", HTTP_ACCEPT_LANGUAGE="ko")
        assert response.status_code == 404
        assert "이 링크는 작동하지 않습니다" in response.content.decode()
        assert TrackedLink.objects.get().clicks == 0


def test_with_tracked_links_turned_off_links_stay_as_written(message, settings):
    settings.JOURNEYS_TRACKED_LINKS = False
    content = Content(subject="", body=f"Track it: {TRACKING}", html_body="", segments=2, language="en")
    assert content_links_shorten(message=message, content=content) == content
    assert not TrackedLink.objects.exists()

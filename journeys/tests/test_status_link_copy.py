"""Every order-care message links to the order status page, and the shipped texts still fit: one GSM-7 segment in
English and German, two UCS-2 segments in Russian, Korean and Chinese, with realistic values (the link as the
tracked short link a text carries)."""

import datetime as dt

import pytest
from django.conf import settings

from journeys.rendering import template_render
from journeys.services.rules import DEFAULT_COPY_DIR, default_copy
from journeys.sms_encoding import sms_length
from journeys.triggers import ORDER_CARE_TRIGGER_NAMES

LANGUAGES = [code for code, _name in settings.LANGUAGES]
SHORT_LINK = "https://care.example.com/l/AbCdEfGhIjK"  # /l/ + 11 characters: what texts carry
MOMENT = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
STATUS_UPDATE = {
    "en": "your parcel is out for delivery (DHL, last update March 3)",
    "de": "Ihr Paket ist in Zustellung (DHL, letzte Meldung 3. März)",
    "ru": "посылка передана курьеру (DHL, обновлено 3 марта)",
    "ko": "상품이 배송 출발했어요(DHL, 최근 업데이트 3월 3일)",
    "zh-hans": "包裹正在派送中（DHL，最近更新3月3日）",
}
# (segments in English and German, in Russian, Korean and Chinese). A refund goes by email first; as a text
# it carries the refund's method and timing words, whose "5–10" dash alone makes any text UCS-2.
BUDGET = {"refund_processed": (2, 3)}


def realistic(language: str) -> dict:
    return {
        "customer": {"first_name": "Mia"},
        "shop": {"name": "Alpha Shoes", "contact_email": "help@alpha.example"},
        "order": {"number": "#1042", "total_display": "128.90 USD", "ship_by": MOMENT, "status": "Shipped"},
        "shipment": {"carrier": "DHL", "tracking_number": "JJD0001", "last_update_at": MOMENT},
        "tracking_url": SHORT_LINK,
        "links": {"status": SHORT_LINK, "return_portal": SHORT_LINK},
        "refund": {"amount_display": "42.00 USD"},
        "status_update": STATUS_UPDATE[language],
    }


CARE = [(trigger, language) for trigger in ORDER_CARE_TRIGGER_NAMES for language in LANGUAGES]


@pytest.mark.parametrize(("trigger", "language"), CARE, ids=[f"{t}-{lang}" for t, lang in CARE])
def test_every_order_care_text_and_email_carries_the_status_link(trigger, language):
    copy = default_copy(trigger, language)
    assert "{{ links.status }}" in copy["body"]
    assert 'href="{{ links.status }}"' in copy["html_body"]
    rendered = template_render(copy["body"], realistic(language), language=language, time_zone="UTC")
    assert SHORT_LINK in rendered


@pytest.mark.parametrize(("trigger", "language"), CARE, ids=[f"{t}-{lang}" for t, lang in CARE])
def test_the_texts_keep_to_their_segments(trigger, language):
    body = template_render(
        default_copy(trigger, language)["body"], realistic(language), language=language, time_zone="UTC"
    )
    latin, other = BUDGET.get(trigger, (1, 2))
    length = sms_length(body)
    assert length.segments <= (latin if language in ("en", "de") else other), f"{length.units} units: {body}"
    if language in ("en", "de"):
        assert length.encoding == "GSM-7", body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_status_update_text_stays_short_even_for_a_long_shop_name(language):
    context = realistic(language) | {"shop": {"name": "Schwarzwald Outdoor Ausrüstung"}}
    body = template_render(
        default_copy("order_status_checked", language)["body"], context, language=language, time_zone="UTC"
    )
    assert sms_length(body).segments <= (1 if language in ("en", "de") else 3), body
    assert body.endswith(SHORT_LINK)


def test_the_status_update_has_copy_in_every_language_with_a_subject():
    for language in LANGUAGES:
        assert (DEFAULT_COPY_DIR / "order_status_checked" / f"{language}.subject.txt").exists()
        assert "{{ status_update }}" in default_copy("order_status_checked", language)["body"]

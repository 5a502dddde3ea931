"""Marketing SMS carry the shop's signature and the opt-out hint the market expects, added at render
time and counted in the segments the admin preview shows; transactional SMS are left as written."""

import pytest
from django.urls import reverse

from journeys.sms_copy import sms_marketing_copy
from journeys.sms_encoding import sms_length
from journeys.tests.factories import CareRuleFactory, MessageTemplateFactory

SHOP = "Alpha Shoes"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Alpha Shoes: 20% off socks this week. Reply STOP to opt out"),
        ("de", "Alpha Shoes: 20% off socks this week. Abmelden: STOPP antworten"),
        ("ru", "Alpha Shoes: 20% off socks this week. Отписаться: ответьте СТОП"),
        ("ko", "(광고) Alpha Shoes: 20% off socks this week. 수신거부: '수신거부' 회신"),
        ("zh-hans", "【Alpha Shoes】20% off socks this week.回T退订"),
        ("fr", "Alpha Shoes: 20% off socks this week. Reply STOP to opt out"),
    ],
)
def test_each_language_gets_its_signature_and_opt_out_hint(language, expected):
    assert sms_marketing_copy("20% off socks this week.", shop_name=SHOP, language=language).body == expected


def test_a_template_that_already_signs_and_names_stop_gets_nothing_twice():
    copy = sms_marketing_copy("Alpha Shoes: sale! Reply STOP to opt out", shop_name=SHOP, language="en")
    assert (copy.body, copy.added_before, copy.added_after) == ("Alpha Shoes: sale! Reply STOP to opt out", "", "")


def test_the_chinese_hint_switches_a_gsm_text_to_ucs2_and_triples_its_segments():
    text = "Sale: " + "x" * 124  # 130 GSM-7 characters: one segment as written
    assert (sms_length(text).encoding, sms_length(text).segments) == ("GSM-7", 1)
    body = sms_marketing_copy(text, shop_name=SHOP, language="zh-hans").body
    length = sms_length(body)
    assert (length.encoding, length.units, length.segments) == ("UCS-2", 147, 3)
    assert length.non_gsm_characters[:2] == ("【", "】")


def test_the_english_hint_keeps_gsm7_but_can_add_a_segment():
    text = "x" * 130
    length = sms_length(sms_marketing_copy(text, shop_name=SHOP, language="en").body)
    assert (length.encoding, length.segments) == ("GSM-7", 2), "13 + 130 + 22 = 165 septets"


@pytest.mark.django_db
class TestAdminPreview:
    def test_the_preview_of_a_marketing_rule_shows_the_added_words_and_the_resulting_segments(
        self, client, owner, shop
    ):
        shop.name = SHOP
        shop.save()
        rule = CareRuleFactory(shop=shop, message_class="marketing", fallback_channel="")
        template = MessageTemplateFactory(rule=rule, language="zh-hans", body="Sale: " + "x" * 124)
        client.force_login(owner)
        response = client.get(reverse("admin:journeys_carerule_preview", args=[rule.pk, template.pk]))
        worst = response.context["worst"]
        assert worst.body == "【Alpha Shoes】Sale: " + "x" * 124 + "回T退订"
        assert (worst.added_before, worst.added_after) == ("【Alpha Shoes】", "回T退订")
        assert (worst.sms.encoding, worst.sms.segments) == ("UCS-2", 3)
        page = response.content.decode()
        assert "Added for marketing" in page
        assert "<code>【Alpha Shoes】</code> before" in page
        assert "<code>回T退订</code> after" in page
        assert "3 segments" in page

    def test_the_preview_of_a_transactional_rule_adds_nothing(self, client, owner, shop):
        rule = CareRuleFactory(shop=shop)
        template = MessageTemplateFactory(rule=rule, language="en", body="Your parcel is on its way.")
        client.force_login(owner)
        response = client.get(reverse("admin:journeys_carerule_preview", args=[rule.pk, template.pk]))
        assert response.context["worst"].body == "Your parcel is on its way."
        assert "Added for marketing" not in response.content.decode()

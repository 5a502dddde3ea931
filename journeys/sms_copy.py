"""Copy rules of marketing SMS: the shop's signature and the opt-out hint the market expects.

Added at render time, after the template, so every marketing text carries them whatever the
template says, and counted in the segments (the admin preview shows the same words). The hint
names a keyword the inbound handler honours (`journeys.sms_keywords`). Transactional texts are
left as written. Chinese texts follow the convention of Chinese carriers: the signature in
【】 first, `回T退订` last. A template that already carries the signature or the hint does not get
it twice.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CopyRule:
    signature: str  # "{shop}" is replaced by the shop's sender name
    hint: str
    separator: str = " "  # between the text and the hint


# By message language; others get English (STOP is understood by every US/CA carrier).
COPY_RULES: dict[str, CopyRule] = {
    "en": CopyRule("{shop}: ", "Reply STOP to opt out"),
    "de": CopyRule("{shop}: ", "Abmelden: STOPP antworten"),
    "ru": CopyRule("{shop}: ", "Отписаться: ответьте СТОП"),
    # Korean law (정보통신망법 §50) wants "(광고)" first on advertising; 수신거부 is the keyword we honour.
    "ko": CopyRule("(광고) {shop}: ", "수신거부: '수신거부' 회신"),
    "zh-hans": CopyRule("【{shop}】", "回T退订", separator=""),
}


@dataclass(frozen=True)
class MarketingCopy:
    body: str
    added_before: str  # the words put in front of the template's text ("" when it had them)
    added_after: str  # the words put after it


def copy_rule_for(language: str) -> CopyRule:
    return COPY_RULES.get(language) or COPY_RULES["en"]


def sms_marketing_copy(body: str, *, shop_name: str, language: str) -> MarketingCopy:
    """`body` with the signature in front and the opt-out hint at the end, each unless already there."""
    rule = copy_rule_for(language)
    signature = rule.signature.format(shop=shop_name)
    text = body.strip()
    before = "" if text.startswith(signature.strip()) else signature
    after = "" if rule.hint.casefold() in text.casefold() else rule.separator + rule.hint
    return MarketingCopy(f"{before}{text}{after}", before, after)

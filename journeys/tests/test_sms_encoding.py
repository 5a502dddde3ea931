"""SMS length: GSM-7 while every character allows it, UCS-2 otherwise, and segments as carriers count them."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.sms_encoding import SmsLength, sms_cost_hint, sms_length

CYRILLIC = "ж"
EMOJI = "😀"


def segments_and_encoding(text: str) -> tuple[int, str]:
    length = sms_length(text)
    return length.segments, length.encoding


@pytest.mark.parametrize(
    ("size", "segments", "per_segment"),
    [(1, 1, 160), (160, 1, 160), (161, 2, 153), (306, 2, 153), (307, 3, 153), (459, 3, 153), (460, 4, 153)],
)
def test_gsm_text_fits_160_septets_in_one_segment_then_153_per_segment(size, segments, per_segment):
    length = sms_length("a" * size)
    assert (length.encoding, length.units, length.segments, length.per_segment) == (
        "GSM-7",
        size,
        segments,
        per_segment,
    )


@pytest.mark.parametrize(
    ("size", "segments", "per_segment"),
    [(1, 1, 70), (70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67)],
)
def test_cyrillic_text_fits_70_units_in_one_segment_then_67_per_segment(size, segments, per_segment):
    length = sms_length(CYRILLIC * size)
    assert (length.encoding, length.units, length.segments, length.per_segment) == (
        "UCS-2",
        size,
        segments,
        per_segment,
    )


def test_empty_text_has_no_segments():
    assert sms_length("") == SmsLength(
        encoding="GSM-7", characters=0, units=0, segments=0, per_segment=160, non_gsm_characters=()
    )


def test_the_whole_gsm_basic_table_stays_gsm_7_at_one_septet_each():
    basic = (
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    length = sms_length(basic)
    assert (length.encoding, length.characters, length.units) == ("GSM-7", 127, 127)


@pytest.mark.parametrize("char", ["^", "{", "}", "\\", "[", "~", "]", "|", "€", "\f"])
def test_extension_characters_stay_gsm_7_but_take_two_septets(char):
    length = sms_length(char)
    assert (length.encoding, length.characters, length.units) == ("GSM-7", 1, 2)


def test_a_euro_sign_after_159_letters_makes_161_septets_and_two_segments():
    length = sms_length("a" * 159 + "€")
    assert (length.encoding, length.characters, length.units, length.segments) == ("GSM-7", 160, 161, 2)


def test_an_escaped_character_is_not_split_across_segments():
    # Given 152 letters and a euro sign: 154 septets, but the euro's two septets do not fit in segment one's 153
    text = "a" * 152 + "€" + "a" * 152
    # When counted: segment one holds 152 septets, segment two starts with the euro (2 + 151), segment three the rest
    length = sms_length(text)
    assert length.units == 306  # 2 * 153 would fit if escapes could be split
    assert length.segments == 3


def test_an_emoji_takes_two_units_and_forces_ucs_2():
    length = sms_length(f"Thanks {EMOJI}")
    assert (length.encoding, length.characters, length.units, length.segments) == ("UCS-2", 8, 9, 1)
    assert length.non_gsm_characters == (EMOJI,)


def test_a_surrogate_pair_is_not_split_across_segments():
    # 66 units then an emoji: 68 units would fill segment one to 67 only by splitting the pair
    text = CYRILLIC * 66 + EMOJI + CYRILLIC * 66
    length = sms_length(text)
    assert length.units == 134  # 2 * 67 would fit if pairs could be split
    assert length.segments == 3


def test_korean_text_is_ucs_2_with_one_unit_per_syllable():
    text = "주문하신 상품이 배송되었습니다. 감사합니다!"
    length = sms_length(text)
    assert (length.encoding, length.characters, length.units, length.segments) == ("UCS-2", len(text), len(text), 1)
    assert length.non_gsm_characters[:3] == ("주", "문", "하")


def test_long_chinese_text_needs_several_segments():
    text = "您的订单已发货，预计三天内送达。" * 5  # 16 characters, 80 units
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments, length.per_segment) == ("UCS-2", 80, 2, 67)
    assert "，" in length.non_gsm_characters


def test_curly_quotes_and_en_dash_force_ucs_2_and_are_reported_once_in_order():
    length = sms_length("Your “order” – it’s here. Ünder “way” – café")
    assert length.encoding == "UCS-2"
    assert length.non_gsm_characters == ("“", "”", "–", "’")  # Ü and é are GSM-7


def test_lowercase_c_cedilla_is_not_gsm_7():
    # GSM 03.38 has only the capital Ç; no silent transliteration.
    assert sms_length("ça va").non_gsm_characters == ("ç",)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "0 segments, GSM-7"),
        ("Hello", "1 segment, GSM-7"),
        ("a" * 161, "2 segments, GSM-7"),
        ("Shipped – on its way 😀", "1 segment, UCS-2 because of “–”, “😀”"),
        ("Привет", "1 segment, UCS-2 because of “П”, “р”, “и” and 3 more"),
        ("tab\there", "1 segment, UCS-2 because of “U+0009”"),
    ],
)
def test_sms_cost_hint(text, hint):
    assert sms_cost_hint(sms_length(text)) == hint


# -- properties ---------------------------------------------------------------------------------

ALPHABET = ["a", "Z", " ", "é", "\n", "€", "{", "\\", "ж", "–", "“", "한", "中", EMOJI, "👍🏽"]
# Runs of one character make long texts likely, so segment boundaries get crossed.
texts = st.lists(st.tuples(st.sampled_from(ALPHABET), st.integers(1, 120)), max_size=8).map(
    lambda runs: "".join(char * count for char, count in runs)
)


@settings(max_examples=300, deadline=None)
@given(text=texts, extra=texts)
def test_appending_never_reduces_the_segment_count(text, extra):
    before, after = sms_length(text), sms_length(text + extra)
    assert before.segments <= after.segments


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_units_fit_the_segments_and_match_the_encoding(text):
    length = sms_length(text)
    assert length.characters == len(text)
    assert (length.segments == 0) == (text == "")
    assert length.units <= length.segments * length.per_segment
    if length.segments:  # greedy filling leaves at most one unit free in each full segment
        assert length.units >= (length.segments - 1) * (length.per_segment - 1) + 1
    if length.encoding == "GSM-7":
        assert length.units >= length.characters
        assert length.non_gsm_characters == ()
    else:
        assert length.units == len(text.encode("utf-16-le")) // 2
        assert length.non_gsm_characters

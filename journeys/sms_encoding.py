"""How long an SMS is on the wire: GSM-7 or UCS-2 encoding, units and segment count.

A message is sent in the GSM 03.38 7-bit alphabet when every character is in its basic table or
its escape (extension) table; one character outside it switches the whole message to UCS-2, which
more than halves the room per segment. The mapping is strict: no character is transliterated, so
what the customer receives is exactly what was written.
"""

from dataclasses import dataclass

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# GSM 03.38 basic table in code order, 16 per line; 0x1B is the escape to the extension table.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
) - {"\x1b"}  # the escape itself is not text
# Extension table: sent as escape + character, so each takes two septets.
_GSM_EXTENSION = frozenset("\x0c^{}\\[~]|€")

_GSM_SINGLE, _GSM_CONCATENATED = 160, 153  # septets; concatenation headers take 7
_UCS_SINGLE, _UCS_CONCATENATED = 70, 67  # 16-bit code units

_HINT_CHARACTERS = 3  # the hint names a few culprits; a Korean message would otherwise list them all


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # GSM_7 or UCS_2
    characters: int  # characters as the customer sees them (len of the text)
    units: int  # GSM-7 septets (extension characters count 2) or UCS-2 16-bit code units (astral count 2)
    segments: int  # 0 for empty text
    per_segment: int  # the limit that applied: 160/153 for GSM-7, 70/67 for UCS-2
    non_gsm_characters: tuple[str, ...]  # distinct characters that forced UCS-2, in order of appearance


def sms_length(text: str) -> SmsLength:
    """Encoding, size and segment count of `text` as an SMS.

    Guarantees: GSM-7 exactly when every character is in GSM 03.38 (basic or extension table);
    a single segment holds 160 septets or 70 UCS-2 units; concatenated segments hold 153 or 67 and
    never split an extension character's escape pair or a UTF-16 surrogate pair.
    """
    non_gsm = tuple(dict.fromkeys(char for char in text if char not in _GSM_BASIC and char not in _GSM_EXTENSION))
    if non_gsm:
        encoding, single, concatenated = UCS_2, _UCS_SINGLE, _UCS_CONCATENATED
        widths = [2 if ord(char) > 0xFFFF else 1 for char in text]  # outside the BMP: a surrogate pair
    else:
        encoding, single, concatenated = GSM_7, _GSM_SINGLE, _GSM_CONCATENATED
        widths = [2 if char in _GSM_EXTENSION else 1 for char in text]
    units = sum(widths)
    if units <= single:
        return SmsLength(encoding, len(text), units, 1 if text else 0, single, non_gsm)
    return SmsLength(encoding, len(text), units, _segments_filled(widths, capacity=concatenated), concatenated, non_gsm)


def sms_cost_hint(length: SmsLength) -> str:
    """A one-line summary for editors, e.g. "2 segments, GSM-7" or "1 segment, UCS-2 because of “–”"."""
    count = f"{length.segments} segment{'' if length.segments == 1 else 's'}"
    if length.encoding == GSM_7:
        return f"{count}, {GSM_7}"
    shown = ", ".join(f"“{_visible(char)}”" for char in length.non_gsm_characters[:_HINT_CHARACTERS])
    more = len(length.non_gsm_characters) - _HINT_CHARACTERS
    return f"{count}, {UCS_2} because of {shown}" + (f" and {more} more" if more > 0 else "")


def _segments_filled(widths: list[int], *, capacity: int) -> int:
    # Greedy: a character that does not fit whole moves to the next segment.
    segments, used = 1, 0
    for width in widths:
        if used + width > capacity:
            segments, used = segments + 1, 0
        used += width
    return segments


def _visible(char: str) -> str:
    # A tab or zero-width space between quotes would look like nothing at all.
    return char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"

"""What makes a review wait for a person before it is published: profanity, links, personal data, spam.

The checks look at the words only, never at the stars: a negative review with none of these
publishes at once, like a positive one. A flag is not a verdict: a person reads the review and
publishes it, or hides it for a reason the FTC rule allows (reviews.models.Review.HideReason).
The word lists are deliberately short: the common strong words of each language the customer
pages speak, matched as words in alphabetic scripts and as substrings in Korean and Chinese.
"""

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

# Per language; every list is checked whatever the review's language (customers mix languages).
PROFANITY: dict[str, tuple[str, ...]] = {
    "en": ("fuck", "fucking", "fucked", "shit", "bullshit", "asshole", "bitch", "cunt", "motherfucker", "dickhead"),
    "de": ("scheiße", "scheisse", "arschloch", "fotze", "wichser", "hurensohn", "fick", "ficken", "verpiss"),
    # Russian swearing is built on a few stems: matched at the start of a word.
    "ru": ("бля", "хуй", "хуе", "хуё", "пизд", "ебат", "ебан", "ёбан", "сука", "мудак", "залуп"),
    "ko": ("씨발", "시발", "씨팔", "개새끼", "병신", "좆", "존나", "지랄"),
    "zh-hans": ("傻逼", "操你", "他妈的", "妈的", "王八蛋", "混蛋", "狗屎", "草泥马"),
}
STEM_LANGUAGES = frozenset({"ru"})
SUBSTRING_LANGUAGES = frozenset({"ko", "zh-hans"})

_LINK = re.compile(
    r"(https?://|www\.|\b[a-z0-9-]{2,}\.(?:com|net|org|info|biz|io|co|ly|me|shop|store|de|ru|kr|cn|uk|us|eu|xyz|top)\b)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.UNICODE)
_REPEATED_CHARACTER = re.compile(r"(.)\1{9,}", re.DOTALL)
SPAM_MIN_LENGTH = 20


@dataclass(frozen=True)
class Flag:
    code: str  # Review.Flag
    detail: str


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _word_pattern(words: tuple[str, ...], *, stems: bool) -> re.Pattern:
    body = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{body})" + ("" if stems else r"(?!\w)"), re.UNICODE)


_PATTERNS = {
    language: None if language in SUBSTRING_LANGUAGES else _word_pattern(words, stems=language in STEM_LANGUAGES)
    for language, words in PROFANITY.items()
}


def profanity_found(text: str) -> list[str]:
    normalized = _normalized(text)
    found = []
    for language, words in PROFANITY.items():
        pattern = _PATTERNS[language]
        if pattern is None:
            found.extend(word for word in words if word in normalized)
        else:
            found.extend(match.group() for match in pattern.finditer(normalized))
    return sorted(set(found))


def phone_numbers_found(text: str, *, regions: list[str]) -> list[str]:
    """Phone numbers in `text`, written as people in `regions` write them, or in international form."""
    found = set()
    for region in dict.fromkeys(region.upper() for region in regions or ["US"]):
        if region not in phonenumbers.SUPPORTED_REGIONS:
            continue
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            found.add(match.raw_string)
    return sorted(found)


def review_flags(*, title: str, text: str, regions: list[str], duplicate_of_another: bool = False) -> list[Flag]:
    """Why this review should wait for a person; empty when it can be published at once.

    `regions`: countries whose phone number formats to look for (the customer's, the shop's).
    `duplicate_of_another`: the same words were sent in another review (copy-paste spam).
    """
    words = f"{title}\n{text}"
    flags = []
    if profane := profanity_found(words):
        flags.append(Flag("profanity", ", ".join(profane)))
    if links := [match.group() for match in _LINK.finditer(words)]:
        flags.append(Flag("link", ", ".join(sorted(set(links)))))
    personal = [match.group() for match in _EMAIL.finditer(words)]
    personal += phone_numbers_found(words, regions=[region for region in regions if region])
    if personal:
        flags.append(Flag("personal_data", ", ".join(sorted(set(personal)))))
    if duplicate_of_another:
        flags.append(Flag("spam", "the same words as another review"))
    elif _REPEATED_CHARACTER.search(words):
        flags.append(Flag("spam", "a character repeated ten times or more"))
    return flags


def spam_fingerprint(text: str) -> str:
    """The words of a review with case, spacing and punctuation ignored; "" when too short to compare."""
    letters = "".join(char for char in _normalized(text) if char.isalnum())
    return letters if len(letters) >= SPAM_MIN_LENGTH else ""


# Words that describe a review's sentiment: not a reason to hide it (16 CFR 465.7).
_SENTIMENT_ONLY = re.compile(
    r"\b(negative|negativ|bad review|low rating|low score|poor rating|unfavou?rable|"
    r"[1-2]\s*stars?|one star|two stars|schlecht|негатив|плох|부정|악평|差评|负面)",
    re.IGNORECASE | re.UNICODE,
)


def names_sentiment(note: str) -> bool:
    """Whether a reason given for hiding a review is about its sentiment (which is never a reason)."""
    return bool(_SENTIMENT_ONLY.search(note))

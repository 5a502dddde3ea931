"""SMS keywords as data: which words opt a customer out or back in, ask for help, or may mean "stop".

A keyword counts only as the whole message: trimmed, case-insensitive (Unicode casefold, NFKC so
full-width letters count), surrounding punctuation ignored. "Stop." and " stop " are STOP;
"stop texting me" is not a keyword (carriers and Twilio behave the same) but is flagged for a
person as a possible opt-out, as are the phrases below.
"""

import re
import unicodedata
from dataclasses import dataclass

# Twilio answers these itself on long codes and toll-free numbers (STOP filtering), and then
# refuses to send to the number (error 21610) until START: we record the opt-out and say nothing.
# https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out
TWILIO_OPT_OUT = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
TWILIO_OPT_IN = ("START", "YES", "UNSTOP")
TWILIO_HELP = ("HELP", "INFO")

# Local opt-out words, with the language to confirm in. Twilio does not know them, so the
# customer gets one short confirmation from us (allowed after a revocation, FCC 2025).
LOCAL_OPT_OUT: dict[str, str] = {
    "退订": "zh-hans",
    "TD": "zh-hans",  # 回复TD退订, the usual line of Chinese shop texts
    "T": "zh-hans",
    "拒收": "zh-hans",
    "СТОП": "ru",
    "ОТПИСАТЬСЯ": "ru",
    "수신거부": "ko",
    "ABMELDEN": "de",
    "STOPP": "de",
    "ARRET": "fr",  # on AWS's list, not Twilio's
    "ARRÊT": "fr",
    "OPT OUT": "en",
    "OPT-OUT": "en",
}
LOCAL_HELP: dict[str, str] = {"帮助": "zh-hans", "ПОМОЩЬ": "ru", "도움말": "ko", "HILFE": "de"}

# Loosely worded opt-outs: flagged for a person, never acted on alone. Matched anywhere in the
# casefolded text; \b keeps "stop" from matching "nonstop" (CJK and Hangul have no word breaks).
POSSIBLE_OPT_OUT_PATTERNS = (
    r"\bstop",
    r"\bunsubscribe",
    r"\bremove me\b",
    r"\btake me off\b",
    r"\bwrong (number|person)\b",
    r"\bdon'?t (text|message|contact|sms)",
    r"\bdo not (text|message|contact|sms)",
    r"\bno more (texts?|messages?|sms)\b",
    r"\bopt[ -]?out\b",
    r"\bleave me alone\b",
    r"\bnot interested\b",
    r"不要再发",
    r"别再发",
    r"别发",
    r"不要发",
    r"退订",
    r"拒收",
    r"\bхватит\b",
    r"\bотпис",
    r"\bне (пишите|присылайте|отправляйте)",
    r"\bстоп\b",
    r"수신\s*거부",
    r"그만",
    r"보내지\s*마",
    r"\babmelden\b",
    r"\bkeine (sms|nachrichten)\b",
    r"\bstopp\b",
)

# Our answers. {shop} is the sender name, {contact} the shop's phone and email.
OPT_OUT_CONFIRMATION = {
    "en": "{shop}: you are unsubscribed and will get no more texts. Reply START to resubscribe.",
    "de": "{shop}: Sie sind abgemeldet und erhalten keine SMS mehr. Antworten Sie START, um sie wieder zu erhalten.",
    "ru": "{shop}: вы отписались и больше не будете получать SMS. Ответьте START, чтобы подписаться снова.",
    "ko": "{shop}: 수신거부되었습니다. 더 이상 문자를 보내지 않습니다. 다시 받으려면 START로 답장하세요.",
    "zh-hans": "{shop}：您已退订，将不再收到短信。回复START可重新订阅。",
    "fr": "{shop} : vous êtes désabonné et ne recevrez plus de SMS. Répondez START pour vous réabonner.",
}
OPT_IN_CONFIRMATION = {
    "en": "{shop}: you will get texts about your orders again. Reply STOP to unsubscribe.",
}
HELP_REPLY = {
    "en": "{shop}: order updates by text. Help: {contact}. Msg&data rates may apply. Reply STOP to unsubscribe.",
    "de": "{shop}: Bestell-Updates per SMS. Hilfe: {contact}. Es können SMS-Gebühren anfallen. "
    "Antworten Sie STOP zum Abmelden.",
    "ru": "{shop}: SMS о ваших заказах. Помощь: {contact}. Оператор может взять плату. "
    "Ответьте STOP, чтобы отписаться.",
    "ko": "{shop}: 주문 안내 문자입니다. 문의: {contact}. 통신 요금이 부과될 수 있습니다. "
    "수신거부는 STOP으로 답장하세요.",
    "zh-hans": "{shop}：订单短信通知。客服：{contact}。可能产生短信费用。回复STOP退订。",
}


def _folded(word: str) -> str:
    return unicodedata.normalize("NFKC", word).casefold()


_OPT_OUT = {_folded(word): "" for word in TWILIO_OPT_OUT} | {_folded(w): lang for w, lang in LOCAL_OPT_OUT.items()}
_OPT_IN = {_folded(word) for word in TWILIO_OPT_IN}
_HELP = {_folded(word): "" for word in TWILIO_HELP} | {_folded(w): lang for w, lang in LOCAL_HELP.items()}
_TWILIO_HANDLES = {_folded(word) for word in (*TWILIO_OPT_OUT, *TWILIO_OPT_IN, *TWILIO_HELP)}
_POSSIBLE_OPT_OUT = re.compile("|".join(POSSIBLE_OPT_OUT_PATTERNS))


@dataclass(frozen=True)
class Keyword:
    kind: str  # an InboundSms.Kind value
    word: str  # the normalised text that matched ("" for replies)
    language: str = ""  # the keyword's own language, when it has one
    handled_by_twilio: bool = False  # Twilio's STOP filtering already answered it on a long code


def text_normalise(text: str) -> str:
    """Casefolded, NFKC, inner whitespace collapsed, surrounding whitespace, punctuation and symbols removed."""
    folded = " ".join(_folded(text or "").split())
    start, end = 0, len(folded)
    while start < end and _is_trim(folded[start]):
        start += 1
    while end > start and _is_trim(folded[end - 1]):
        end -= 1
    return folded[start:end]


def _is_trim(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] in "PSZ"


def keyword_classify(text: str) -> Keyword:
    """What an inbound text asks for: opt_out, opt_in, help, possible_opt_out or reply."""
    word = text_normalise(text)
    if word in _OPT_OUT:
        return Keyword("opt_out", word, _OPT_OUT[word], word in _TWILIO_HANDLES)
    if word in _OPT_IN:
        return Keyword("opt_in", word, "", word in _TWILIO_HANDLES)
    if word in _HELP:
        return Keyword("help", word, _HELP[word], word in _TWILIO_HANDLES)
    if _POSSIBLE_OPT_OUT.search(" ".join(_folded(text or "").split())):
        return Keyword("possible_opt_out", word)
    return Keyword("reply", word)

"""The shipped email copy is well-formed HTML whichever way its conditions go: rendered once with every value
filled and once with none, each paragraph and link it opens is closed (mail clients render broken markup badly)."""

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.template import Context

from journeys.context import context_worst_case
from journeys.rendering import HTML_ENGINE
from journeys.services.rules import DEFAULT_COPY_DIR

CHECKED_TAGS = {"p", "a", "strong", "em", "ul", "ol", "li", "table", "tr", "td", "div", "span"}
SHIPPED = sorted(
    (folder.name, language)
    for folder in DEFAULT_COPY_DIR.iterdir()
    for language, _name in settings.LANGUAGES
    if (folder / f"{language}.html").exists()
)


class TagBalance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in CHECKED_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag not in CHECKED_TAGS:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
            return
        self.open.pop()


def problems_of(html: str) -> list[str]:
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    return parser.problems + [f"<{tag}> never closed" for tag in parser.open]


@pytest.mark.parametrize(("trigger", "language"), SHIPPED, ids=[f"{t}-{lang}" for t, lang in SHIPPED])
def test_the_shipped_email_is_well_formed_with_every_value_and_with_none(trigger, language):
    source = (DEFAULT_COPY_DIR / trigger / f"{language}.html").read_text(encoding="utf-8")
    template = HTML_ENGINE.from_string(source)
    assert problems_of(template.render(Context(context_worst_case()))) == []
    assert problems_of(template.render(Context({}))) == []

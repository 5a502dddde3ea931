"""Every label of the dashboard (its pages, tables, charts, journey stages and the panels reviews and returns add)
reads in German, Russian, Korean and Chinese: each string marked for translation in their code and templates has
a translation in the project's catalogue."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

BASE = Path(settings.BASE_DIR)
SOURCES = [
    *sorted((BASE / "journeys" / "insight").glob("*.py")),
    BASE / "reviews" / "selectors" / "voice.py",
    BASE / "reviews" / "journey_stages.py",
    BASE / "returns" / "selectors" / "voice.py",
]
TEMPLATES = sorted((BASE / "templates" / "admin" / "insight").glob("*.html"))
MARKERS = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy"}
TRANSLATE_TAG = re.compile(r"""{%\s*translate\s+"([^"]+)"\s*%}""")


def _marked_in_python(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        first = node.args[0]
        if name in MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.add(first.value)
    return found


def dashboard_msgids() -> set[str]:
    msgids = set().union(*(_marked_in_python(path) for path in SOURCES))
    for path in TEMPLATES:
        msgids |= set(TRANSLATE_TAG.findall(path.read_text(encoding="utf-8")))
    return msgids


def test_the_dashboard_marks_its_labels():
    assert len(dashboard_msgids()) > 150
    assert {"Journey map", "Rule performance", "Voice of the customer", "SLA attainment"} <= dashboard_msgids()


@pytest.mark.parametrize("language", ["de", "ru", "ko", "zh-hans"])
def test_each_dashboard_label_has_a_translation(language):
    with translation.override(language):
        catalog = trans_real.translation(language)._catalog
        missing = sorted(msgid for msgid in dashboard_msgids() if msgid not in catalog)

    assert missing == []

"""Every translation in the project's catalogues keeps what its English text fills in or marks up.

A translation that drops `%(name)s` or renames `{count}` fails only when that text is shown, in that
language: a KeyError in the admin, or a message with a hole in it. Read from the compiled catalogues,
so what is checked is what the app uses (fuzzy entries are not compiled, so not used).
"""

import re
import struct
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = sorted(path.name for path in LOCALE.iterdir() if (path / "LC_MESSAGES" / "django.mo").exists())
# %-style and {}-style fields, HTML tags and entities ("%%" is a percent sign, which a translation may add).
PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{[^{}]*\}|</?[a-zA-Z][^>]*>|&[a-z]+;")


def compiled_entries(language: str) -> list[tuple[list[str], list[str]]]:
    """([msgid] or [msgid, msgid_plural], [msgstr] or its plural forms) for each entry of the .mo file."""
    data = (LOCALE / language / "LC_MESSAGES" / "django.mo").read_bytes()
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    _magic, _version, count, originals, translations = struct.unpack(order + "5I", data[:20])

    def strings(table: int, index: int) -> list[str]:
        length, offset = struct.unpack(order + "2I", data[table + 8 * index : table + 8 * index + 8])
        return data[offset : offset + length].decode().split("\x00")

    return [(strings(originals, n), strings(translations, n)) for n in range(count)]


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_there_are_catalogues_to_check():
    assert {"de", "ru", "ko", "zh_Hans"} <= set(LANGUAGES)
    assert len(compiled_entries("de")) > 400


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_keeps_the_placeholders_and_markup_of_its_msgid(language):
    wrong = []
    for msgids, msgstrs in compiled_entries(language):
        if msgids == [""]:  # the catalogue's header
            continue
        if len(msgids) == 1:
            if placeholders(msgids[0]) != placeholders(msgstrs[0]):
                wrong.append((msgids[0], msgstrs[0]))
            continue
        # Plural forms: a form may leave out the count ("one return"), never add a name the English lacks.
        known = set(placeholders(msgids[0])) | set(placeholders(msgids[1]))
        wrong.extend((msgids[0], form) for form in msgstrs if set(placeholders(form)) - known)

    assert wrong == []

"""Platform locale text is narrowed to the languages the back-office offers."""

import pytest

from merchant.platforms.languages import language_from_locale


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("de", "de"),
        ("de-DE", "de"),
        ("de_DE_formal", "de"),
        ("de_DE.UTF-8", "de"),
        ("ru-RU", "ru"),
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("zh", "zh-hans"),
        ("zh-CN", "zh-hans"),
        ("zh_CN", "zh-hans"),
        ("zh-SG", "zh-hans"),
        ("zh-Hans", "zh-hans"),
        ("zh-Hans-CN", "zh-hans"),
        ("zh-TW", ""),
        ("zh-HK", ""),
        ("zh-Hant", ""),
        ("zh-Hant-TW", ""),
        ("uk-UA", ""),
        ("fr", ""),
        ("", ""),
        ("  ", ""),
        ("-", ""),
        (None, ""),
        (42, ""),
    ],
)
def test_locale_maps_to_an_offered_language_or_nothing(locale, expected):
    assert language_from_locale(locale) == expected


def test_traditional_chinese_would_map_once_offered(settings):
    settings.LANGUAGES = [*settings.LANGUAGES, ("zh-hant", "繁體中文")]

    assert language_from_locale("zh-TW") == "zh-hant"
    assert language_from_locale("zh-CN") == "zh-hans"

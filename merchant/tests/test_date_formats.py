"""Dates as each language writes them (merchant.formats): a day with its time, chart labels, a dashboard period."""

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from merchant.formats import date_named, extra_format

MOMENT = dt.datetime(2026, 12, 6, 14, 2, tzinfo=dt.UTC)  # a Sunday afternoon; written as it is, in UTC
SEPTEMBER = dt.date(2026, 9, 5)


@pytest.mark.parametrize(
    ("language", "day_and_time", "chart_day", "chart_month", "period_day"),
    [
        ("en", "December 6, 2:02 p.m.", "6 Dec", "Dec 2026", "6 Dec 2026"),
        ("de", "6. Dezember, 14:02", "6 Dez", "Dez 2026", "6 Dez 2026"),
        ("ru", "6 декабря, 14:02", "6 Дек", "Дек 2026", "6 Дек 2026"),
        ("ko", "12월 6일 14:02", "12월 6일", "2026년 12월", "2026년 12월 6일"),
        ("zh-hans", "12月6日 14:02", "12月6日", "2026年12月", "2026年12月6日"),
    ],
)
def test_each_language_writes_a_day_as_its_readers_do(language, day_and_time, chart_day, chart_month, period_day):
    with translation.override(language):
        written = [
            date_named(MOMENT, name)
            for name in (
                "MONTH_DAY_TIME_FORMAT",
                "SHORT_MONTH_DAY_FORMAT",
                "SHORT_YEAR_MONTH_FORMAT",
                "SHORT_DAY_FORMAT",
            )
        ]
    assert written == [day_and_time, chart_day, chart_month, period_day]


@pytest.mark.parametrize(("language", "day"), [("zh-hans", "9月5日"), ("ko", "9월 5일"), ("ru", "5 сентября")])
def test_the_month_day_format_has_no_leading_zero_and_the_right_case(language, day):
    template = Template('{{ day|date:"MONTH_DAY_FORMAT" }}')
    with translation.override(language):
        assert template.render(Context({"day": SEPTEMBER})) == day


def test_the_template_filter_writes_an_aware_moment_in_the_current_zone():
    template = Template('{% load date_names %}{{ moment|date_named:"MONTH_DAY_TIME_FORMAT" }}')
    moment = dt.datetime(2026, 12, 6, 6, 2, tzinfo=dt.UTC)
    with translation.override("zh-hans"), timezone.override("Asia/Shanghai"):
        assert template.render(Context({"moment": moment})) == "12月6日 14:02"
    assert template.render(Context({"moment": None})) == ""


def test_an_unknown_format_name_is_refused():
    with pytest.raises(ValueError, match="not one of"):
        extra_format("MONTH_DAY_TIME")

"""`{% load date_names %}{{ moment|date_named:"MONTH_DAY_TIME_FORMAT" }}`: the formats of merchant.formats that
Django has no name for, in the page's language and (for an aware datetime) the current time zone."""

from django import template

from merchant.formats import date_named as format_date_named

register = template.Library()


@register.filter(expects_localtime=True)
def date_named(value, name: str) -> str:
    if value in (None, ""):
        return ""
    return format_date_named(value, name)

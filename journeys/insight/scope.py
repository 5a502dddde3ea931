"""Which shops and which days a dashboard page counts: from the person and the page's filter."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django import forms
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import Merchant
from merchant.selectors import merchant_list_for_user

DEFAULT_DAYS = 30
LONGEST_DAYS = 731


@dataclass(frozen=True)
class InsightScope:
    shop_ids: tuple[int, ...]  # never empty for a page that shows figures; only shops the person belongs to
    start: dt.date  # first day counted
    end: dt.date  # last day counted (inclusive)
    tzinfo: dt.tzinfo  # the zone the days are counted in (the shop's, or the first shop's)

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=self.tzinfo)

    @property
    def end_at(self) -> dt.datetime:
        """The first moment after the period (exclusive bound)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=self.tzinfo)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "InsightScope":
        """The period of the same length just before this one (for trends)."""
        length = dt.timedelta(days=self.days)
        return InsightScope(self.shop_ids, self.start - length, self.start - dt.timedelta(days=1), self.tzinfo)


class InsightFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    shop = forms.TypedChoiceField(label=_("Shop"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, shops, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].choices = [("", _("All my shops"))] + [(shop.pk, shop.name) for shop in shops]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end is before the start."))
        elif start and end and (end - start).days >= LONGEST_DAYS:
            self.add_error("end", _("Choose at most %(days)d days.") % {"days": LONGEST_DAYS})
        return cleaned


def insight_scope_from_request(request) -> tuple[InsightScope, InsightFilterForm]:
    """The scope the page's filter asks for, within the person's shops.

    A shop id the person does not belong to answers 404 (no existence leak); a malformed filter falls
    back to the default period and the form carries the errors to show. Default: the last 30 days
    up to today, in the zone of the chosen shop (or of the person's first shop).
    """
    shops = list(merchant_list_for_user(request.user).order_by("name").only("pk", "name", "time_zone"))
    raw_shop = request.GET.get("shop")
    if raw_shop and not any(str(shop.pk) == raw_shop for shop in shops):
        raise Http404
    form = InsightFilterForm(request.GET or None, shops=shops)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    chosen = [shop for shop in shops if shop.pk == data.get("shop")] or shops
    tzinfo = _zone(chosen[0]) if chosen else timezone.get_current_timezone()
    today = timezone.now().astimezone(tzinfo).date()
    end = data.get("end") or today
    start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if not form.errors:
        # The inputs show the period counted, whether chosen or the default.
        shown = request.GET.copy()
        shown["start"], shown["end"] = start.isoformat(), end.isoformat()
        form = InsightFilterForm(shown, shops=shops)
        form.is_valid()
    return InsightScope(tuple(shop.pk for shop in chosen), start, end, tzinfo), form


def _zone(shop: Merchant) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(shop.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC

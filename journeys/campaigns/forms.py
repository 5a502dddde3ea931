"""Admin forms of audiences, campaigns, holiday greetings and shop dates.

They check the shape of what was typed and offer only rows of the shops the person belongs to; the
services check the rest when Save calls them, and their errors land on these fields
(merchant.admin.service_forms).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.admin import widgets
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from journeys.campaigns.calendar import FIRST_ORDER_ANNIVERSARY, holiday_name_pick
from journeys.campaigns.greetings import MAX_LEAD_DAYS
from journeys.campaigns.models import Audience, Campaign, HolidayGreeting, ShopDate
from journeys.campaigns.selectors import HolidayChoice
from journeys.forms import CommaSeparatedListField
from journeys.models import ADDRESS_CHANNELS, Channel, CouponPool, MessageClass
from merchant.models import Merchant, Order, Tag

NO_FALLBACK = [("", _("No fallback"))]
# Campaigns address customers by phone or email; push reaches only browsers listening to one order.
ADDRESS_CHANNEL_CHOICES = [(channel.value, channel.label) for channel in ADDRESS_CHANNELS]


class FilteredSelectMultiple(widgets.FilteredSelectMultiple):
    """The admin's two-box picker, wrapped so its script builds the boxes beside the label, not before it
    (SelectFilter2.js puts them at the start of the select's parent)."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<div class="related-widget-wrapper">{}</div>', super().render(name, value, attrs, renderer))


def _one_shop(instance, shops: QuerySet) -> Merchant | None:
    """The shop the form is about: the row's, else the person's only shop."""
    if instance is not None and instance.shop_id:
        return instance.shop
    listed = list(shops[:2])
    return listed[0] if len(listed) == 1 else None


class ShopFormMixin:
    """Querysets of the shop (the row's, or the person's only one) or, failing that, of the person's shops."""

    def shop_field(self, shops: QuerySet) -> None:
        """Pick among `shops` on the add page; a row never moves to another shop (shown, not a field)."""
        if self.instance.pk:
            del self.fields["shop"]
        else:
            self.fields["shop"].queryset = shops

    def shop_rows(self, model, shops: QuerySet) -> QuerySet:
        shop = _one_shop(self.instance if self.instance.pk or self.instance.shop_id else None, shops)
        return model.objects.filter(shop=shop) if shop else model.objects.filter(shop__in=shops)

    def shop_of(self, cleaned: dict) -> Merchant | None:
        return cleaned.get("shop") or (self.instance.shop if self.instance.shop_id else None)

    def _get_validation_exclusions(self):
        # The model's unique (shop, name) constraint would be reported on no field: the services check the
        # name and say so on the "name" field.
        return {*super()._get_validation_exclusions(), "name"}

    def same_shop(self, cleaned: dict, *names: str) -> None:
        shop = self.shop_of(cleaned)
        for name in names:
            value = cleaned.get(name)
            if shop is not None and value is not None and getattr(value, "shop_id", shop.pk) != shop.pk:
                self.add_error(name, _("Pick one of %(shop)s's.") % {"shop": shop})


# --- audiences -------------------------------------------------------------------------------------


class AudienceForm(ShopFormMixin, forms.ModelForm):
    languages = forms.MultipleChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The language the message would be in (the order's, else the customer's, else the shop's)."),
    )
    order_statuses = forms.MultipleChoiceField(
        choices=Order.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Audiences of orders: the order is in one of these statuses now. Empty: any."),
    )
    warehouses = CommaSeparatedListField(
        required=False,
        help_text=_("Audiences of orders: comma-separated, e.g. “east, berlin-2”. Empty: any."),
    )
    placed_after = forms.SplitDateTimeField(required=False, widget=widgets.AdminSplitDateTime, label=_("Placed after"))
    placed_before = forms.SplitDateTimeField(
        required=False, widget=widgets.AdminSplitDateTime, label=_("Placed before")
    )

    class Meta:
        model = Audience
        fields = (
            "shop", "name", "target", "countries", "languages", "tags", "ordered_within_months", "min_orders",
            "order_statuses", "warehouses", "placed_after", "placed_before",
        )  # fmt: skip
        widgets = {
            "countries": FilteredSelectMultiple(_("countries"), is_stacked=False),
            "tags": FilteredSelectMultiple(_("tags"), is_stacked=False),
            "target": forms.RadioSelect,
        }

    def __init__(self, *args, shops: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop_field(shops)
        self.fields["tags"].queryset = self.shop_rows(Tag, shops)
        shop = _one_shop(self.instance if self.instance.shop_id else None, shops)
        if shop is not None:
            known = sorted(
                set(Order.objects.filter(shop=shop).exclude(warehouse="").values_list("warehouse", flat=True)[:50])
            )
            if known:
                self.fields["warehouses"].help_text = _("Comma-separated. This shop's orders ship from: %s.") % (
                    ", ".join(known)
                )


# --- campaigns -------------------------------------------------------------------------------------


class CampaignForm(ShopFormMixin, forms.ModelForm):
    """A campaign's send: to whom and when. On the add page also how (channel, class, coupon): later the rule's."""

    send_on = forms.DateField(
        label=_("Date"),
        widget=widgets.AdminDateWidget,
        help_text=_("Each customer's local date, or the shop's date for one moment in the shop's time zone."),
    )
    send_time = forms.TimeField(
        label=_("Time"),
        initial=dt.time(10, 0),
        widget=widgets.AdminTimeWidget,
        help_text=_("Each customer's local time, or the shop's local time for one moment."),
    )
    channel = forms.ChoiceField(choices=ADDRESS_CHANNEL_CHOICES, initial=Channel.SMS)
    fallback_channel = forms.ChoiceField(
        choices=NO_FALLBACK + ADDRESS_CHANNEL_CHOICES,
        initial=Channel.EMAIL,
        required=False,
        help_text=_("Used for customers the first channel cannot reach (no number, no consent, opted out)."),
    )
    message_class = forms.ChoiceField(
        choices=MessageClass.choices,
        initial=MessageClass.MARKETING,
        help_text=_("Marketing needs recorded consent, keeps to the contact budget and the stricter hours."),
    )
    coupon_pool = forms.ModelChoiceField(
        queryset=CouponPool.objects.none(), required=False, help_text=_("One single-use code per message sent.")
    )

    class Meta:
        model = Campaign
        fields = ("shop", "name", "audience", "timing")
        widgets = {"timing": forms.RadioSelect}

    def __init__(self, *args, shops: QuerySet, add: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience"].queryset = self.shop_rows(Audience, shops).order_by("name")
        self.shop_field(shops)
        if add:
            self.fields["coupon_pool"].queryset = self.shop_rows(CouponPool, shops)
        else:
            for name in ("channel", "fallback_channel", "message_class", "coupon_pool"):
                del self.fields[name]
            campaign = self.instance
            if campaign.timing == Campaign.Timing.SHOP_TIME and campaign.send_at:
                local = campaign.send_at.astimezone(ZoneInfo(campaign.shop.time_zone))
                self.initial.update(send_on=local.date(), send_time=local.time().replace(second=0, microsecond=0))
            else:
                self.initial.update(send_on=campaign.send_on, send_time=campaign.send_time)

    def clean(self):
        cleaned = super().clean()
        self.same_shop(cleaned, "audience", "coupon_pool")
        return cleaned

    def when(self, shop: Merchant) -> dict:
        """The service's arguments for the time: send_on and send_time, or the moment (send_at) for shop time."""
        day, at = self.cleaned_data["send_on"], self.cleaned_data["send_time"]
        if self.cleaned_data["timing"] == Campaign.Timing.SHOP_TIME:
            moment = dt.datetime.combine(day, at, tzinfo=ZoneInfo(shop.time_zone))
            return {"send_at": moment.astimezone(dt.UTC), "send_on": None, "send_time": at}
        return {"send_on": day, "send_time": at, "send_at": None}


class CampaignTestSendForm(forms.Form):
    channel = forms.ChoiceField(choices=ADDRESS_CHANNEL_CHOICES, initial=Channel.EMAIL)
    to = forms.CharField(
        required=False,
        max_length=254,
        label=_("To"),
        help_text=_("An email address or a mobile number. Empty: your email, or the shop's phone for SMS."),
    )
    language = forms.ChoiceField(
        choices=[("", _("The shop's language"))] + list(settings.LANGUAGES), required=False, label=_("Language")
    )


# --- holiday greetings ----------------------------------------------------------------------------


def holiday_choice_label(choice: HolidayChoice) -> str:
    """“Chuseok · 추석 (KR), next 25 Sep 2026”."""
    english = holiday_name_pick(choice.names, language="en") or choice.key
    others = [name for language, name in choice.names.items() if language != "en" and name != english]
    words = " · ".join([english, *dict.fromkeys(others)])
    where = ", ".join(choice.countries) if choice.countries else str(_("every country"))
    if choice.key == FIRST_ORDER_ANNIVERSARY:
        when = str(_("every day"))
    elif choice.next_date:
        when = str(_("next %s")) % f"{choice.next_date:%d %b %Y}"
    else:
        when = str(_("no date approved ahead"))
    return f"{words} ({where}), {when}"


class HolidayGreetingForm(ShopFormMixin, forms.ModelForm):
    holiday_keys = forms.MultipleChoiceField(
        label=_("Holidays"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("From the approved calendar. Approve more dates in “Review the calendar”."),
    )
    lead_days = forms.IntegerField(
        min_value=0, max_value=MAX_LEAD_DAYS, initial=0, help_text=_("0: on the day. N: N days before.")
    )
    send_time = forms.TimeField(
        initial=dt.time(10, 0), widget=widgets.AdminTimeWidget, help_text=_("Each customer's local time.")
    )
    channel = forms.ChoiceField(choices=ADDRESS_CHANNEL_CHOICES, initial=Channel.SMS)
    fallback_channel = forms.ChoiceField(
        choices=NO_FALLBACK + ADDRESS_CHANNEL_CHOICES, initial=Channel.EMAIL, required=False
    )
    coupon_pool = forms.ModelChoiceField(queryset=CouponPool.objects.none(), required=False)

    class Meta:
        model = HolidayGreeting
        fields = ("shop", "name", "audience", "holiday_keys", "lead_days", "send_time", "is_active")

    def __init__(self, *args, shops: QuerySet, choices: list[HolidayChoice], **kwargs):
        super().__init__(*args, **kwargs)
        greeting = self.instance
        self.shop_field(shops)
        if greeting.pk:
            rule = greeting.rule
            self.initial.update(
                channel=rule.channel, fallback_channel=rule.fallback_channel, coupon_pool=rule.coupon_pool_id
            )
        self.fields["audience"].queryset = (
            self.shop_rows(Audience, shops).filter(target=Audience.Target.CUSTOMERS).order_by("name")
        )
        self.fields["coupon_pool"].queryset = self.shop_rows(CouponPool, shops)
        offered: dict[str, str] = {}
        for choice in choices:
            offered.setdefault(choice.key, holiday_choice_label(choice))
        for key in greeting.holiday_keys or []:
            offered.setdefault(key, f"{key} ({_('not in the approved calendar')})")
        self.fields["holiday_keys"].choices = list(offered.items())

    def clean(self):
        cleaned = super().clean()
        self.same_shop(cleaned, "audience", "coupon_pool")
        return cleaned


# --- shop dates ------------------------------------------------------------------------------------


class ShopDateForm(ShopFormMixin, forms.ModelForm):
    def _get_validation_exclusions(self):
        # "A yearly date has its day" is a constraint the model reports on no field; the service names the field.
        return {*super()._get_validation_exclusions(), "kind"}

    class Meta:
        model = ShopDate
        fields = ("shop", "name", "names", "kind", "month", "day")
        widgets = {"kind": forms.RadioSelect, "names": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def __init__(self, *args, shops: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop_field(shops)
        self.fields["names"].required = False
        self.fields["names"].initial = dict
        self.fields["names"].help_text = _("Other languages, as JSON: {“de”: “Unser Geburtstag”, “ko”: “창립 기념일”}.")


def local_today(shop: Merchant | None) -> dt.date:
    return timezone.localtime(timezone.now(), ZoneInfo(shop.time_zone)).date() if shop else timezone.now().date()

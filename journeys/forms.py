"""Admin forms of journeys.

They check the shape of what was typed and run the same checks the services run before saving,
so a problem shows on the field it concerns and nothing is saved.
"""

import copy

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from journeys.consent_policy import COUNTRY_DEFAULTS
from journeys.models import CareRule, ContactBudget, CountryMessageClass, CouponPool, MessageTemplate, SmsAccount
from journeys.services.coupons import coupon_codes_parse
from journeys.services.rules import care_rule_check, message_template_check
from journeys.services.sms_accounts import sms_account_check
from journeys.triggers import trigger_choices


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the fields it names; errors of fields not on the form go on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(
                None, [f"{field.replace('_', ' ').capitalize()}: {message}" for e in errors for message in e]
            )


class CommaSeparatedListField(forms.CharField):
    """A list of short words typed as "a, b, c"; kept in order, without blanks or repeats."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return list(value)
        items = (item.strip() for item in (value or "").split(","))
        return list(dict.fromkeys(item for item in items if item))


class CareRuleForm(forms.ModelForm):
    trigger = forms.ChoiceField(choices=trigger_choices, help_text=_("What starts the rule."))
    product_categories = CommaSeparatedListField(
        required=False,
        label=_("Product categories"),
        help_text=_("Comma-separated, e.g. “shoes, socks”: the order holds a product of one of them. Empty: any."),
    )

    class Meta:
        model = CareRule
        fields = (
            "shop", "name", "trigger", "is_active", "delay_amount", "delay_unit", "expire_after_hours",
            "min_order_total", "max_order_total", "customer_countries", "product_categories", "customer_tags",
            "customer_kind", "channel", "fallback_channel", "message_class", "window_start", "window_end",
            "send_any_hour", "coupon_pool", "over_budget", "holdout_percent",
        )  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        shop = cleaned.get("shop") or (self.instance.shop if self.instance.shop_id else None)
        if shop is None:
            return cleaned
        name = cleaned.get("name")
        if name and CareRule.objects.filter(shop=shop, name=name).exclude(pk=self.instance.pk).exists():
            self.add_error("name", _("This shop has a rule of this name already."))
        tags = cleaned.get("customer_tags")
        if tags is not None and any(tag.shop_id != shop.pk for tag in tags):
            self.add_error("customer_tags", _("Pick tags of this rule's shop."))
        low, high = cleaned.get("min_order_total"), cleaned.get("max_order_total")
        if low is not None and high is not None and low > high:
            self.add_error("max_order_total", _("The highest total must not be below the lowest."))
        # The service's own checks, on what the rule would become; the saved rule is untouched.
        candidate = copy.copy(self.instance)
        candidate.shop = shop
        for field in CareRule._meta.concrete_fields:
            if field.name in cleaned and field.name != "shop":
                setattr(candidate, field.name, cleaned[field.name])
        try:
            care_rule_check(candidate)
        except ValidationError as error:
            add_service_errors(self, error)
        return cleaned


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("channel", "language", "subject", "body", "html_body")
        widgets = {
            "body": forms.Textarea(attrs={"rows": 5, "cols": 90, "class": "vLargeTextField template-source"}),
            "html_body": forms.Textarea(attrs={"rows": 6, "cols": 90, "class": "vLargeTextField template-source"}),
        }

    def clean(self):
        cleaned = super().clean()
        candidate = MessageTemplate(
            channel=cleaned.get("channel") or "",
            language=cleaned.get("language") or "",
            subject=cleaned.get("subject") or "",
            body=cleaned.get("body") or "",
            html_body=cleaned.get("html_body") or "",
        )
        try:
            message_template_check(candidate)
        except ValidationError as error:
            add_service_errors(self, error)
        return cleaned


class CouponPoolForm(forms.ModelForm):
    add_codes = forms.CharField(
        required=False,
        strip=False,
        label=_("Add codes"),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 40, "placeholder": "WELCOME-7F3KQ9\nWELCOME-K2M8XD"}),
        help_text=_("One code per line. Codes the pool has already are reported and skipped."),
    )

    class Meta:
        model = CouponPool
        fields = ("shop", "name", "description")

    def clean_add_codes(self) -> list[str]:
        return coupon_codes_parse(self.cleaned_data.get("add_codes") or "")

    def clean(self):
        cleaned = super().clean()
        shop = cleaned.get("shop") or (self.instance.shop if self.instance.shop_id else None)
        name = cleaned.get("name")
        if shop and name and CouponPool.objects.filter(shop=shop, name=name).exclude(pk=self.instance.pk).exists():
            self.add_error("name", _("This shop has a coupon pool of this name already."))
        return cleaned


class SmsAccountForm(forms.ModelForm):
    """A shop's Twilio account. The auth token is write-only: typed, saved, never shown again."""

    # Not named after the model field: that one is not editable, so no form ever renders its value.
    new_auth_token = forms.CharField(
        required=False,
        strip=True,
        label=_("Auth token"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("From the Twilio console. Leave empty to keep the saved one; it is never shown again."),
    )

    base_url = forms.URLField(
        assume_scheme="https",
        initial="https://api.twilio.com",
        label=_("API address"),
        help_text=_("Twilio's API. Change it only to point at a test server."),
    )

    class Meta:
        model = SmsAccount
        fields = (
            "shop", "label", "account_sid", "from_number", "messaging_service_sid", "base_url",
            "rate_per_second", "daily_cap", "is_active", "price_per_segment", "price_currency",
        )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only an estimate for the dashboard: left empty, the price keeps its default (or saved) value.
        for name in ("price_per_segment", "price_currency"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_price_per_segment(self):
        value = self.cleaned_data.get("price_per_segment")
        return self.instance.price_per_segment if value is None else value

    def clean_price_currency(self):
        return self.cleaned_data.get("price_currency") or self.instance.price_currency

    def clean(self):
        cleaned = super().clean()
        shop = cleaned.get("shop") or (self.instance.shop if self.instance.shop_id else None)
        # The service's own checks, on what the account would become; the saved row is untouched.
        candidate = copy.copy(self.instance)
        candidate.shop = shop
        for field in SmsAccount._meta.concrete_fields:
            if field.name in cleaned and field.name not in ("shop", "auth_token"):
                setattr(candidate, field.name, cleaned[field.name])
        try:
            sms_account_check(candidate, auth_token=cleaned.get("new_auth_token") or "")
        except ValidationError as error:
            if hasattr(error, "error_dict") and "auth_token" in error.error_dict:
                error.error_dict["new_auth_token"] = error.error_dict.pop("auth_token")
            add_service_errors(self, error)
        return cleaned


def country_class_trigger_choices() -> list[tuple[str, str]]:
    """Registered triggers, plus those the shipped defaults name for apps that register them later."""
    choices = dict(trigger_choices())
    for _country, trigger in COUNTRY_DEFAULTS:
        choices.setdefault(trigger, trigger)
    return sorted(choices.items(), key=lambda pair: pair[1])


class CountryMessageClassForm(forms.ModelForm):
    trigger = forms.ChoiceField(choices=country_class_trigger_choices, help_text=_("Which messages."))

    class Meta:
        model = CountryMessageClass
        fields = ("shop", "country", "trigger", "message_class", "note")


class ContactBudgetForm(forms.ModelForm):
    class Meta:
        model = ContactBudget
        fields = ("shop", "per_day", "per_30_days")

    def clean(self):
        cleaned = super().clean()
        per_day, per_30_days = cleaned.get("per_day"), cleaned.get("per_30_days")
        if per_day is not None and per_30_days is not None and per_30_days < per_day:
            self.add_error("per_30_days", _("The 30-day budget must be at least the daily one."))
        return cleaned

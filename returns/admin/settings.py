"""Admin of the support team's settings: business hours and targets, who takes new cases, macros."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from merchant.admin.tenancy import ADD, CHANGE, DELETE, VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.models import Membership
from returns.business_hours import business_hours_validate
from returns.models import AgentPresence, Macro, SupportSettings
from returns.services.case_messages import macro_check

OWNER_SETS = {Role.OWNER: frozenset({VIEW, ADD, CHANGE}), Role.AGENT: frozenset({VIEW})}
TEAM_WRITES = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW, ADD, CHANGE})}


class SupportSettingsForm(forms.ModelForm):
    class Meta:
        model = SupportSettings
        fields = (
            "shop",
            "business_hours",
            "closed_on_public_holidays",
            "first_response_hours",
            "resolution_hours",
            "auto_assign",
            "auto_reply_enabled",
            "satisfaction_survey_enabled",
        )

    def clean_business_hours(self):
        value = self.cleaned_data["business_hours"]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as error:
                raise ValidationError(_("Write the hours as JSON.")) from error
        problems = business_hours_validate(value)
        if problems:
            raise ValidationError(problems)
        return value


@admin.register(SupportSettings)
class SupportSettingsAdmin(ShopScopedAdmin):
    form = SupportSettingsForm
    role_permissions = OWNER_SETS
    list_display = (
        "shop",
        "first_response_hours",
        "resolution_hours",
        "auto_assign",
        "satisfaction_survey_enabled",
        "closed_on_public_holidays",
    )
    list_select_related = ("shop",)


class AgentPresenceForm(forms.ModelForm):
    class Meta:
        model = AgentPresence
        fields = ("shop", "user", "is_available", "max_active_cases")

    def clean(self):
        cleaned = super().clean()
        shop, user = cleaned.get("shop") or getattr(self.instance, "shop", None), cleaned.get("user")
        if shop and user and not Membership.objects.filter(user=user, shop=shop).exists():
            self.add_error("user", _("This person is not a member of the shop."))
        return cleaned


@admin.register(AgentPresence)
class AgentPresenceAdmin(ShopScopedAdmin):
    """Who takes new cases (round robin). Agents switch themselves on the queue page (“I'm available”)."""

    form = AgentPresenceForm
    role_permissions = OWNER_SETS
    list_display = ("user", "shop", "is_available", "max_active_cases", "last_assigned_at")
    list_editable = ("is_available", "max_active_cases")
    list_filter = ("is_available", ("shop", ShopListFilter))
    list_select_related = ("user", "shop")
    readonly_fields = ("last_assigned_at",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(memberships__shop_id__in=self.shop_ids_allowing(request, ADD))
                .distinct()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MacroForm(forms.ModelForm):
    class Meta:
        model = Macro
        fields = ("shop", "name", "language", "body", "is_active")
        help_texts = {
            "body": _(
                "Placeholders: {{ customer.first_name }}, {{ customer.name }}, {{ order.number }}, {{ shop.name }}, "
                "{{ agent.first_name }}, {{ case.number }}. Write one macro per language under the same name: "
                "the case's language is picked, else the shop's."
            )
        }

    def clean_body(self):
        body = self.cleaned_data["body"]
        try:
            macro_check(body)
        except ValidationError as error:
            raise ValidationError(error.message_dict["body"]) from error
        return body


@admin.register(Macro)
class MacroAdmin(ShopScopedAdmin):
    form = MacroForm
    role_permissions = TEAM_WRITES
    list_display = ("name", "language", "is_active", "shop")
    list_filter = ("language", "is_active", ("shop", ShopListFilter))
    search_fields = ("name", "body")
    list_select_related = ("shop",)

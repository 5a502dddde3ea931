"""Consent settings per shop: which triggers are marketing in which country, and the contact budget."""

from django.contrib import admin
from django.utils.translation import gettext as _

from journeys.forms import ContactBudgetForm, CountryMessageClassForm
from journeys.models import ContactBudget, CountryMessageClass
from journeys.services.budget import DEFAULT_BUDGET
from journeys.services.consent_settings import contact_budget_save, country_message_class_save
from merchant.admin.tenancy import (
    ADD,
    CHANGE,
    DELETE,
    VIEW,
    PresentCountryFilter,
    Role,
    ShopListFilter,
    ShopScopedAdmin,
)

# The owner decides what the shop's law asks; agents may look.
OWNER_DECIDES = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW})}


@admin.register(CountryMessageClass)
class CountryMessageClassAdmin(ShopScopedAdmin):
    form = CountryMessageClassForm
    role_permissions = OWNER_DECIDES
    list_display = ("trigger", "country", "message_class", "note", "shop")
    list_filter = ("message_class", PresentCountryFilter, ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("trigger", "note")

    def save_model(self, request, obj, form, change):
        country_message_class_save(row=obj)


@admin.register(ContactBudget)
class ContactBudgetAdmin(ShopScopedAdmin):
    form = ContactBudgetForm
    role_permissions = OWNER_DECIDES
    list_display = ("shop", "per_day", "per_30_days")
    list_select_related = ("shop",)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("per_day", DEFAULT_BUDGET.per_day)
        initial.setdefault("per_30_days", DEFAULT_BUDGET.per_30_days)
        return initial

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "subtitle": _("Shops without a row here use %s.") % DEFAULT_BUDGET.describe(),
        }
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        contact_budget_save(budget=obj)

"""The order status page's settings in the admin: when repeated visits count as a worried customer."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _

from journeys.models import StatusCheckSettings
from journeys.status.services import DEFAULT_THRESHOLD, status_check_settings_save
from merchant.admin.tenancy import ADD, CHANGE, DELETE, VIEW, Role, ShopScopedAdmin

# The owner decides; agents may look.
OWNER_DECIDES = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW})}


class StatusCheckSettingsForm(forms.ModelForm):
    class Meta:
        model = StatusCheckSettings
        fields = ("shop", "is_enabled", "visits", "window_hours")


@admin.register(StatusCheckSettings)
class StatusCheckSettingsAdmin(ShopScopedAdmin):
    form = StatusCheckSettingsForm
    role_permissions = OWNER_DECIDES
    list_display = ("shop", "is_enabled", "visits", "window_hours")
    list_select_related = ("shop",)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("visits", DEFAULT_THRESHOLD.visits)
        initial.setdefault("window_hours", DEFAULT_THRESHOLD.window_hours)
        return initial

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "subtitle": _(
                "Shops without a row here raise “Customer keeps checking the order” after %(visits)d visits to the "
                "order status page within %(hours)d hours, before delivery."
            )
            % {"visits": DEFAULT_THRESHOLD.visits, "hours": DEFAULT_THRESHOLD.window_hours},
        }
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        status_check_settings_save(row=obj)

"""Admin add and change pages whose Save calls a service.

Django's change form saves the model itself and shows only the form's own errors. Here the form checks
the shape of what was typed; Save then calls the service (the only write path), and a ValidationError
it raises is shown on the fields it names, with nothing saved, as any form error would be.
"""

from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from merchant.admin.tenancy import ShopScopedAdmin
from merchant.exceptions import InvalidTransition


def service_errors_show(form: forms.BaseForm, error: ValidationError, renamed: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the form fields it names (`renamed`: service name -> form field);
    errors about something the form does not show go on top, prefixed with the name."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        field = (renamed or {}).get(name, name)
        if field in form.fields and field not in form.errors:
            form.add_error(field, errors)
        elif field in form.fields:
            form.errors[field].extend(message for e in errors for message in e)
        elif field == NON_FIELD_ERRORS:
            form.add_error(None, errors)
        else:
            label = name.replace("_", " ").capitalize()
            form.add_error(None, [f"{label}: {message}" for e in errors for message in e])


class ServiceFormAdmin(ShopScopedAdmin):
    """A shop-scoped admin whose add and change pages save through a service.

    Subclasses give `service_form(request, obj, data)` (a ModelForm bound to `data` when posted; fields
    of other shops are never offered) and `service_save(request, form, obj)`, which calls the service
    and returns the saved object. `service_error_fields` renames a service's field names to the form's.
    A person who may only view gets the same page with every field disabled and no Save button.
    """

    service_error_fields: dict[str, str] = {}

    def service_form(self, request, obj: models.Model | None, data) -> forms.ModelForm:
        raise NotImplementedError

    def service_save(self, request, form: forms.ModelForm, obj: models.Model | None) -> models.Model:
        raise NotImplementedError

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        add = object_id is None
        if add:
            if not self.has_add_permission(request):
                raise PermissionDenied
            obj = None
        else:
            obj = self.get_object(request, unquote(object_id))  # another shop's: 404
            allowed = (
                self.has_change_permission(request, obj)
                if request.method == "POST"
                else self.has_view_or_change_permission(request, obj)
            )
            if not allowed:
                raise PermissionDenied
        can_save = add or self.has_change_permission(request, obj)
        form = self.service_form(request, obj, request.POST if request.method == "POST" else None)
        if not can_save:
            for field in form.fields.values():
                field.disabled = True
        if request.method == "POST" and form.is_valid():
            try:
                saved = self.service_save(request, form, obj)
            except ValidationError as error:
                service_errors_show(form, error, self.service_error_fields)
            except InvalidTransition as error:
                form.add_error(None, str(error))
            else:
                if add:
                    self.log_addition(request, saved, [{"added": {}}])
                    return self.response_add(request, saved)
                self.log_change(request, saved, self.construct_change_message(request, form, None))
                return self.response_change(request, saved)
        fieldsets = self.get_fieldsets(request, obj)
        readonly = [name for name in self.get_readonly_fields(request, obj) if name not in form.fields]
        admin_form = helpers.AdminForm(form, list(fieldsets), {}, readonly, model_admin=self)
        if add:
            title = _("Add %s")
        elif can_save:
            title = _("Change %s")
        else:
            title = _("View %s")
        context = {
            **self.admin_site.each_context(request),
            "title": title % self.opts.verbose_name,
            "subtitle": str(obj) if obj else None,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=add, change=not add, obj=obj, form_url=form_url)

    def get_fieldsets(self, request, obj=None):
        """`fieldsets` (or `add_fieldsets` on the add page) without the fields this page does not have."""
        declared = getattr(self, "add_fieldsets", None) if obj is None else None
        return declared or self.fieldsets

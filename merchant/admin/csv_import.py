"""Import customers or orders from a CSV file: upload, see every problem by line, then commit."""

import base64

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from merchant.actors import Actor
from merchant.models import Merchant
from merchant.platforms import csv_files
from merchant.services.csv_import import csv_import_apply, csv_import_preview

IMPORT = "import"
MAX_FILE_BYTES = 5 * 1024 * 1024


class CsvUploadForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=Merchant.objects.none())
    file = forms.FileField(required=False, help_text="UTF-8 CSV (comma, semicolon or tab separated), up to 5 MB.")
    content = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, shops, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops
        if shops.count() == 1:
            self.fields["shop"].initial = shops.first()

    def clean(self):
        cleaned = super().clean()
        upload, content = cleaned.get("file"), cleaned.get("content")
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                raise ValidationError({"file": f"The file is {upload.size} bytes; at most 5 MB are accepted."})
            raw = upload.read()
        elif content:
            raw = base64.b64decode(content.encode())
        else:
            raise ValidationError({"file": "Choose a CSV file."})
        try:
            cleaned["text"] = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": "The file is not UTF-8 text; save it as “CSV UTF-8”."}) from None
        return cleaned


class CsvImportMixin:
    """For ShopScopedAdmin subclasses: adds <changelist>/import/. Owners only (role permission "import")."""

    csv_kind = ""  # "customers" or "orders"
    change_list_template = "admin/merchant/change_list_with_import.html"

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_import"
        extra = [path("import/", self.admin_site.admin_view(self.csv_import_view), name=name)]
        return extra + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": bool(self.shop_ids_allowing(request, IMPORT))}
        return super().changelist_view(request, extra_context)

    def csv_import_view(self, request):
        shop_ids = self.shop_ids_allowing(request, IMPORT)
        if not shop_ids:
            raise PermissionDenied
        shops = Merchant.objects.filter(pk__in=shop_ids)
        form = CsvUploadForm(request.POST or None, request.FILES or None, shops=shops)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Import {self.csv_kind} from CSV",
            "form": form,
            "kind": self.csv_kind,
            "columns": csv_files.CUSTOMER_COLUMNS if self.csv_kind == "customers" else csv_files.ORDER_COLUMNS,
            "required": csv_files.REQUIRED[self.csv_kind],
        }
        if request.method == "POST" and form.is_valid():
            shop, text = form.cleaned_data["shop"], form.cleaned_data["text"]
            reader = csv_files.customers_from_csv if self.csv_kind == "customers" else csv_files.orders_from_csv
            parsed = reader(text, default_country=str(shop.country))
            if parsed.ok and "confirm" in request.POST:
                try:
                    counts = csv_import_apply(shop=shop, parsed=parsed, actor=Actor.staff(request.user))
                except ValidationError as error:
                    context["apply_error"] = " ".join(error.messages)
                else:
                    self.message_user(
                        request,
                        f"Imported {len(parsed.items)} {self.csv_kind} into {shop}: "
                        f"{counts['new']} new, {counts['updated']} updated.",
                        messages.SUCCESS,
                    )
                    opts = self.model._meta
                    return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
            context.update(
                parsed=parsed,
                shop=shop,
                preview=csv_import_preview(shop=shop, parsed=parsed) if parsed.ok else None,
                sample=parsed.items[:20],
                content=base64.b64encode(text.encode()).decode(),
            )
        return TemplateResponse(request, "admin/merchant/csv_import.html", context)

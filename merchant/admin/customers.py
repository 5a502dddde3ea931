from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone

from merchant import services
from merchant.admin.csv_import import IMPORT, CsvImportMixin
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
from merchant.models import Customer, Product, Tag
from merchant.phones import phone_parse
from merchant.timeline import timeline_for


class PhoneProblemFilter(admin.SimpleListFilter):
    title = "phone"
    parameter_name = "phone_state"

    def lookups(self, request, model_admin):
        return (("ok", "Can receive SMS"), ("problem", "Number not in service"), ("none", "No number"))

    def queryset(self, request, queryset):
        value = self.value()
        if value == "ok":
            return queryset.exclude(phone="")
        if value == "problem":
            return queryset.exclude(phone_problem="")
        if value == "none":
            return queryset.filter(phone="", phone_problem="")
        return queryset


class CustomerForm(forms.ModelForm):
    phone = forms.CharField(
        required=False,
        max_length=64,
        help_text="Any common format. Without a leading + it is read as a number of the customer's country "
        "(else the shop's) and stored as E.164, e.g. +4915123456789.",
    )

    class Meta:
        model = Customer
        fields = ("shop", *(name for name in services.CUSTOMER_FIELDS if not name.startswith("phone_")), "tags")
        help_texts = {"time_zone": "IANA name such as Europe/Berlin. Leave empty to derive it from phone and country."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.phone:
            self.initial["phone"] = self.instance.phone.as_e164

    def clean(self):
        cleaned = super().clean()
        shop = cleaned.get("shop") or (self.instance.shop if self.instance.shop_id else None)
        region = str(cleaned.get("country") or "") or (str(shop.country) if shop else "")
        try:
            cleaned["phone"] = phone_parse(cleaned.get("phone") or "", region=region) or ""
        except ValidationError as error:
            self.add_error("phone", error)
        tags = cleaned.get("tags")
        if shop is not None and tags is not None and any(tag.shop_id != shop.pk for tag in tags):
            self.add_error("tags", "Pick tags of this customer's shop.")
        return cleaned


@admin.register(Customer)
class CustomerAdmin(CsvImportMixin, ShopScopedAdmin):
    form = CustomerForm
    csv_kind = "customers"
    role_permissions = {
        Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE, IMPORT}),
        Role.AGENT: frozenset({VIEW, CHANGE}),
    }
    list_display = ("__str__", "email", "phone_display", "country", "language", "time_zone", "shop", "created_at")
    list_filter = (
        "language",
        PresentCountryFilter,
        ("shop", ShopListFilter),
        ("tags", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("shop",)
    search_fields = ("first_name", "last_name", "email", "phone", "external_id")
    autocomplete_fields = ("tags",)
    readonly_fields = ("phone_as_received", "phone_problem", "time_zone_source", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("shop", "external_id", "first_name", "last_name", "email", "phone", "tags")}),
        ("Phone as the shop platform sent it", {"fields": ("phone_as_received", "phone_problem")}),
        ("Locale", {"fields": ("country", "language", "time_zone", "time_zone_source")}),
        (
            "Consent",
            {
                "fields": (
                    ("sms_marketing_consent_at", "sms_marketing_consent_source"),
                    ("email_marketing_consent_at", "email_marketing_consent_source"),
                    ("sms_opted_out_at", "email_opted_out_at"),
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    change_form_template = "admin/merchant/customer/change_form.html"

    @admin.display(description="Phone", ordering="phone")
    def phone_display(self, customer: Customer) -> str:
        return customer.phone.as_international if customer.phone else "-"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # Everything that happened to the customer's orders and messages, oldest first.
            context["timeline"] = timeline_for(customer=obj)
            context["timeline_now"] = timezone.now()
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.CUSTOMER_FIELDS if name in form.cleaned_data}
        if change:
            original = Customer.objects.get(pk=obj.pk)
            changed = {name: value for name, value in fields.items() if name in form.changed_data}
            customer = services.customer_update(customer=original, **changed)
        else:
            customer = services.customer_create(shop=form.cleaned_data["shop"], **fields)
        obj.__dict__.update(customer.__dict__)


@admin.register(Tag)
class TagAdmin(ShopScopedAdmin):
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW})}
    list_display = ("name", "shop")
    list_filter = (("shop", ShopListFilter),)
    list_select_related = ("shop",)
    search_fields = ("name",)
    fields = ("shop", "name")

    def save_model(self, request, obj, form, change):
        if change:
            tag = services.tag_rename(tag=Tag.objects.get(pk=obj.pk), name=form.cleaned_data["name"])
        else:
            tag = services.tag_create(shop=form.cleaned_data["shop"], name=form.cleaned_data["name"])
            obj.__dict__.update(tag.__dict__)


@admin.register(Product)
class ProductAdmin(ShopScopedAdmin):
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW})}
    list_display = ("title", "sku", "category", "shop")
    list_filter = ("category", ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("title", "sku", "external_id")
    fields = ("shop", "title", "sku", "category", "external_id")

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ("title", "sku", "category", "external_id")}
        if change:
            product = services.product_update(product=Product.objects.get(pk=obj.pk), **fields)
        else:
            product = services.product_create(shop=form.cleaned_data["shop"], **fields)
        obj.__dict__.update(product.__dict__)

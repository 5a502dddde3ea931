from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from merchant import services
from merchant.actors import Actor
from merchant.admin.csv_import import IMPORT, CsvImportMixin
from merchant.admin.tenancy import CHANGE, VIEW, Role, ShopListFilter, ShopScopedAdmin, ShopScopedMixin
from merchant.exceptions import InvalidTransition
from merchant.models import Order, OrderLine, Shipment
from merchant.order_page import order_page_links
from merchant.timeline import timeline_for

READ_ONLY = {Role.OWNER: frozenset({VIEW}), Role.AGENT: frozenset({VIEW})}


class OrderChildInline(ShopScopedMixin, admin.TabularInline):
    """Read-only rows of one order; permission checks receive the parent order."""

    shop_path = "order__shop"
    role_permissions = READ_ONLY
    extra = 0
    can_delete = False
    show_change_link = False

    def shop_id_of(self, obj):
        return obj.shop_id if isinstance(obj, Order) else obj.order.shop_id

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class OrderLineInline(OrderChildInline):
    model = OrderLine
    fields = ("title", "sku", "quantity", "unit_price", "total")


class ShipmentInline(OrderChildInline):
    model = Shipment
    fields = ("carrier", "tracking_number", "tracking_url", "status", "shipped_at", "last_carrier_event_at")


class ShipForm(forms.Form):
    carrier = forms.CharField(required=False, max_length=100)
    tracking_number = forms.CharField(required=False, max_length=100)
    tracking_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    partial = forms.BooleanField(required=False, help_text="Only some of the items left in this parcel.")


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        required=False, min_value=0.01, decimal_places=2, help_text="Leave empty to refund everything not yet refunded."
    )


class CancelForm(forms.Form):
    reason = forms.CharField(required=False, max_length=200)


@admin.register(Order)
class OrderAdmin(CsvImportMixin, ShopScopedAdmin):
    csv_kind = "orders"
    role_permissions = {Role.OWNER: frozenset({VIEW, CHANGE, IMPORT}), Role.AGENT: frozenset({VIEW, CHANGE})}
    list_display = ("number", "customer", "status", "total_display", "placed_at", "source_platform", "shop")
    list_filter = ("status", "source_platform", ("shop", ShopListFilter), "placed_at")
    list_select_related = ("shop", "customer")
    # Warehouses are searched, not listed as a filter: a filter would list every shop's values.
    search_fields = (
        "number",
        "external_id",
        "customer__email",
        "customer__last_name",
        "customer__phone",
        "warehouse",
    )
    date_hierarchy = "placed_at"
    # The timeline (order events merged with what other apps register, e.g. messages) is a
    # panel under the inlines: see render_change_form and merchant.timeline.
    inlines = (OrderLineInline, ShipmentInline)
    actions = ("mark_paid", "mark_shipped", "mark_delivered", "cancel_orders", "record_refund")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "shop",
                    "number",
                    "external_id",
                    "customer",
                    "status",
                    "source_platform",
                    "language",
                    "warehouse",
                )
            },
        ),
        ("Times", {"fields": ("placed_at", "paid_at", "ship_by", "shipped_at", "delivered_at", "cancelled_at")}),
        (
            "Money",
            {
                "fields": (
                    "currency",
                    ("subtotal", "shipping_total", "tax_total", "discount_total"),
                    ("total", "refunded_total", "refunded_at"),
                )
            },
        ),
    )
    change_form_template = "admin/merchant/order/change_form.html"

    @admin.display(description="Total", ordering="total")
    def total_display(self, order: Order) -> str:
        return f"{order.total} {order.currency}"

    # Orders arrive from the shop platform; people change them only through the actions.
    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, None)

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for row in fieldset[1]["fields"] for name in _flatten(row)]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["order_actions"] = self.get_action_choices(request, default_choices=[])
        if obj is not None:
            context["timeline"] = timeline_for(order=obj)
            context["order_page_links"] = order_page_links(obj)
            context["timeline_now"] = timezone.now()
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- actions ------------------------------------------------------------------------------
    def response_action(self, request, queryset):
        # An action started from an order's page returns there, not to the list.
        response = super().response_action(request, queryset)
        order_id = request.POST.get("_return_to_order", "")
        if order_id.isdigit() and isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(reverse("admin:merchant_order_change", args=[order_id]))
        return response

    def _apply_to_each(self, request, queryset, service, done_text: str, **arguments) -> None:
        actor = Actor.staff(request.user)
        done, refusals = 0, []
        for order in queryset.select_related("shop"):
            try:
                service(order=order, actor=actor, **arguments)
            except (InvalidTransition, ValidationError) as error:
                refusals.append(" ".join(getattr(error, "messages", [str(error)])))
            else:
                done += 1
        if done:
            self.message_user(request, ngettext("%d order %s.", "%d orders %s.", done) % (done, done_text))
        for refusal in refusals:
            self.message_user(request, f"Refused: {refusal}", messages.ERROR)

    def _with_form(self, request, queryset, form_class, title: str, service, done_text: str):
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            arguments = {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}
            self._apply_to_each(request, queryset, service, done_text, **arguments)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "orders": queryset.select_related("customer"),
            "form": form,
            "opts": self.model._meta,
            "action": request.POST.get("action"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "return_to_order": request.POST.get("_return_to_order", ""),
        }
        return TemplateResponse(request, "admin/merchant/order/action_form.html", context)

    @admin.action(description="Mark as paid", permissions=["change"])
    def mark_paid(self, request, queryset):
        self._apply_to_each(request, queryset, services.order_mark_paid, "marked paid")

    @admin.action(description="Mark as shipped…", permissions=["change"])
    def mark_shipped(self, request, queryset):
        return self._with_form(
            request, queryset, ShipForm, "Mark as shipped", services.order_mark_shipped, "marked shipped"
        )

    @admin.action(description="Mark as delivered", permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._apply_to_each(request, queryset, services.order_mark_delivered, "marked delivered")

    @admin.action(description="Cancel…", permissions=["change"])
    def cancel_orders(self, request, queryset):
        return self._with_form(request, queryset, CancelForm, "Cancel orders", services.order_cancel, "cancelled")

    @admin.action(description="Record a refund…", permissions=["change"])
    def record_refund(self, request, queryset):
        return self._with_form(
            request, queryset, RefundForm, "Record a refund", services.order_refund_record, "refunded"
        )


def _flatten(row):
    return row if isinstance(row, tuple) else (row,)

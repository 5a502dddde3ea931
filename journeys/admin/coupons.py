"""Coupon pools: single-use codes a rule hands out, with how many are left."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from journeys.forms import CouponPoolForm
from journeys.models import CouponPool
from journeys.selectors import coupon_pool_with_counts
from journeys.services.coupons import coupon_codes_add, coupon_pool_save
from merchant.admin.tenancy import ADD, CHANGE, VIEW, Role, ShopListFilter, ShopScopedAdmin

SHOWN_DUPLICATES = 10


@admin.register(CouponPool)
class CouponPoolAdmin(ShopScopedAdmin):
    form = CouponPoolForm
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE}), Role.AGENT: frozenset({VIEW})}
    list_display = ("name", "description", "free_codes", "used_codes", "shop")
    list_filter = (("shop", ShopListFilter),)
    list_select_related = ("shop",)
    search_fields = ("name", "description")
    readonly_fields = ("free_codes", "used_codes")

    def get_queryset(self, request):
        return coupon_pool_with_counts(super().get_queryset(request))

    def get_fieldsets(self, request, obj=None):
        codes = ["free_codes", "used_codes"] if obj is not None else []
        if self.has_change_permission(request, obj) or (obj is None and self.has_add_permission(request)):
            codes.append("add_codes")
        fieldsets = [(None, {"fields": ["shop", "name", "description"]})]
        if codes:
            fieldsets.append((_("Codes"), {"fields": codes}))
        return fieldsets

    @admin.display(description=_("free codes"), ordering="free_count")
    def free_codes(self, pool: CouponPool) -> int:
        return getattr(pool, "free_count", 0)

    @admin.display(description=_("used codes"), ordering="used_count")
    def used_codes(self, pool: CouponPool) -> int:
        return getattr(pool, "used_count", 0)

    def save_model(self, request, obj, form, change):
        coupon_pool_save(pool=obj)
        codes = form.cleaned_data.get("add_codes") or []
        if not codes:
            return
        added, duplicates = coupon_codes_add(pool=obj, codes=codes)
        self.message_user(
            request, ngettext("%d code added.", "%d codes added.", len(added)) % len(added), messages.SUCCESS
        )
        if duplicates:
            shown = ", ".join(duplicates[:SHOWN_DUPLICATES])
            more = len(duplicates) - SHOWN_DUPLICATES
            self.message_user(
                request,
                ngettext(
                    "%(count)d code skipped: the pool has it already or it was given twice: %(codes)s",
                    "%(count)d codes skipped: the pool has them already or they were given twice: %(codes)s",
                    len(duplicates),
                )
                % {"count": len(duplicates), "codes": shown + (_(" and %d more") % more if more > 0 else "")},
                messages.WARNING,
            )

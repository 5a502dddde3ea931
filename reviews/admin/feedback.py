"""The needs-attention list, review requests and NPS answers in the admin."""

import datetime as dt

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from merchant.actors import Actor
from merchant.admin.tenancy import VIEW, ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition
from merchant.models import Merchant
from merchant.support_handoff import handler_registered
from reviews.admin.common import CANCEL, RESOLVE, STAFF_WORK, ReadOnlyInline, refusals_show
from reviews.forms import NpsPanelForm
from reviews.models import (
    AttentionItem,
    NpsResponse,
    ReviewRequest,
    ReviewRequestItem,
)
from reviews.selectors.nps import nps_by_period, nps_comments, nps_total
from reviews.services.attention import attention_item_hand_over, attention_item_resolve
from reviews.services.requests import review_request_cancel


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("Not overdue yet"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(status=AttentionItem.Status.OPEN, due_at__lt=now)
        if self.value() == "no":
            return queryset.filter(status=AttentionItem.Status.OPEN, due_at__gte=now)
        return queryset


@admin.register(AttentionItem)
class AttentionItemAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK
    list_display = ("due_at", "deadline", "kind", "summary", "status", "customer", "source_link", "shop")
    list_filter = ("status", "kind", OverdueFilter, ("shop", ShopListFilter))
    list_select_related = ("shop", "customer", "review", "nps")
    search_fields = ("summary", "customer__email", "order__number")
    actions = ("resolve_items", "hand_over_items")
    readonly_fields = (
        "shop",
        "kind",
        "status",
        "summary",
        "source_link",
        "customer",
        "order",
        "due_at",
        "resolved_at",
        "resolved_by",
        "resolution_note",
        "handed_over_at",
        "queue_reference",
    )
    fields = readonly_fields

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": _("Needs attention: unhappy customers to answer"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resolve_permission(self, request, obj=None):
        return request.user.is_superuser or self._role_allows(request, RESOLVE, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not handler_registered():  # no support queue yet: the items are answered here
            actions.pop("hand_over_items", None)
        return actions

    @admin.display(description=gettext_lazy("overdue"))
    def deadline(self, item: AttentionItem) -> str:
        if item.status != AttentionItem.Status.OPEN:
            return "—"
        return _("overdue") if item.due_at < timezone.now() else _("in time")

    @admin.display(description=gettext_lazy("about"))
    def source_link(self, item: AttentionItem) -> str:
        if item.review_id:
            url = reverse("admin:reviews_review_change", args=[item.review_id])
            return format_html('<a href="{}">{}</a>', url, _("the review"))
        url = reverse("admin:reviews_npsresponse_change", args=[item.nps_id])
        return format_html('<a href="{}">{}</a>', url, _("the NPS answer"))

    @admin.action(description=gettext_lazy("Mark selected as answered"), permissions=[RESOLVE])
    def resolve_items(self, request, queryset):
        actor = Actor.staff(request.user)
        done, refusals = 0, []
        for item in queryset:
            try:
                attention_item_resolve(item=item, actor=actor)
            except InvalidTransition as error:
                refusals.append(str(error))
            else:
                done += 1
        refusals_show(self, request, done, refusals, ngettext("%d item resolved.", "%d items resolved.", done))

    @admin.action(description=gettext_lazy("Hand selected to the support queue"), permissions=[RESOLVE])
    def hand_over_items(self, request, queryset):
        done = 0
        for item in queryset.filter(status=AttentionItem.Status.OPEN):
            done += attention_item_hand_over(item=item).status == AttentionItem.Status.HANDED_OVER
        words = ngettext("%d item is in the support queue now.", "%d items are in the support queue now.", done)
        refusals_show(self, request, done, [], words)


class ReviewRequestItemInline(ReadOnlyInline):
    model = ReviewRequestItem
    shop_path = "request__shop"
    fields = ("title", "product", "order_line")
    readonly_fields = fields


@admin.register(ReviewRequest)
class ReviewRequestAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK
    list_display = (
        "due_at",
        "order",
        "customer",
        "group_days",
        "status",
        "message_status",
        "reminders_planned",
        "shop",
    )
    list_filter = ("status", ("shop", ShopListFilter))
    list_select_related = ("shop", "order", "customer", "message")
    search_fields = ("order__number", "customer__email")
    date_hierarchy = "due_at"
    actions = ("cancel_requests",)
    inlines = (ReviewRequestItemInline,)
    readonly_fields = (
        "shop",
        "order",
        "customer",
        "group_days",
        "due_at",
        "status",
        "status_reason",
        "explanation",
        "message_status",
        "reminders_planned",
        "reviewed_at",
        "cancelled_at",
        "coupon_code",
    )
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request, obj=None):
        return request.user.is_superuser or self._role_allows(request, CANCEL, obj)

    @admin.display(description=gettext_lazy("message"))
    def message_status(self, request_row: ReviewRequest) -> str:
        if request_row.message_id is None:
            return "—"
        url = reverse("admin:journeys_message_change", args=[request_row.message_id])
        return format_html('<a href="{}">{}</a>', url, request_row.message.get_status_display())

    @admin.action(description=gettext_lazy("Cancel selected requests"), permissions=[CANCEL])
    def cancel_requests(self, request, queryset):
        words = _("cancelled by %s.") % request.user.get_username()
        done = 0
        for review_request in queryset:
            cancelled = review_request_cancel(request=review_request, words=words)
            done += cancelled.status == ReviewRequest.Status.CANCELLED
        refusals_show(self, request, done, [], ngettext("%d request cancelled.", "%d requests cancelled.", done))


@admin.register(NpsResponse)
class NpsResponseAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK
    change_list_template = "admin/reviews/npsresponse/change_list.html"
    list_display = ("submitted_at", "score", "band_display", "comment", "customer", "shop")
    list_filter = ("score", ("shop", ShopListFilter))
    list_select_related = ("shop", "customer")
    search_fields = ("comment", "customer__email")
    readonly_fields = (
        "shop",
        "score",
        "band_display",
        "comment",
        "customer",
        "order",
        "language",
        "submitted_at",
        "edited_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("band"))
    def band_display(self, response: NpsResponse) -> str:
        return {"promoter": _("Promoter"), "passive": _("Passive"), "detractor": _("Detractor")}[response.band]

    # --- the NPS panel -------------------------------------------------------------------------------
    def get_urls(self):
        return [
            path("panel/", self.admin_site.admin_view(self.panel_view), name="reviews_npsresponse_panel"),
            *super().get_urls(),
        ]

    def panel_view(self, request):
        """NPS per week or month over a date range, with the counts of each band and the comments."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = NpsPanelForm(request.GET or None)
        zone = timezone.get_current_timezone()
        today = timezone.localdate()
        start, end, period = today - dt.timedelta(days=180), today, "month"
        if form.is_bound and form.is_valid():
            start = form.cleaned_data["start"] or start
            end = form.cleaned_data["end"] or end
            period = form.cleaned_data["period"] or period
        answers = self.get_queryset(request).filter(
            submitted_at__gte=dt.datetime.combine(start, dt.time(), tzinfo=zone),
            submitted_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
        )
        shop_id = request.GET.get("shop")
        if shop_id and shop_id.isdigit():
            answers = answers.filter(shop_id=int(shop_id))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("NPS panel"),
            "form": form,
            "start": start,
            "end": end,
            "period": period,
            "rows": nps_by_period(answers, period=period, tzinfo=zone),
            "total": nps_total(answers),
            "comments": nps_comments(answers),
            "shops": Merchant.objects.filter(pk__in=self.shop_ids_allowing(request, VIEW)),
            "shop_id": int(shop_id) if shop_id and shop_id.isdigit() else None,
        }
        return TemplateResponse(
            request, "admin/reviews/npsresponse/panel.html", context, status=400 if form.errors else 200
        )

"""Admin of reviews, scoped to the shops a person belongs to (merchant.admin.tenancy).

Reviews are read-only except the public reply: staff publish or hide them (hiding needs an allowed
reason) through actions that call `reviews.services`, and never change stars or words. Also: the
"needs attention" list, review requests (read-only, cancellable), NPS answers, and the request
policy with its per-product and per-category delays.
"""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from merchant.actors import Actor
from merchant.admin.tenancy import ADD, CHANGE, VIEW, Role, ShopListFilter, ShopScopedAdmin, ShopScopedMixin
from merchant.exceptions import InvalidTransition
from reviews.forms import HideReviewsForm
from reviews.models import (
    AttentionItem,
    NpsResponse,
    Review,
    ReviewDelay,
    ReviewEvent,
    ReviewMedia,
    ReviewPolicy,
    ReviewPolicyChange,
    ReviewRequest,
    ReviewRequestItem,
)
from reviews.services.attention import attention_item_resolve
from reviews.services.moderation import review_hide, review_publish, review_reply
from reviews.services.policy import (
    AUDITED_FIELDS,
    review_delay_save,
    review_policy_get_or_create,
    review_policy_update,
    review_rules_default_create,
)
from reviews.services.requests import review_request_cancel
from reviews.views import media_file_response

MODERATE = "moderate"
RESOLVE = "resolve"
CANCEL = "cancel"
# Both roles answer unhappy customers; owners also set the policy.
STAFF_WORK = {
    Role.OWNER: frozenset({VIEW, CHANGE, MODERATE, RESOLVE, CANCEL}),
    Role.AGENT: frozenset({VIEW, CHANGE, MODERATE, RESOLVE, CANCEL}),
}


def stars_display(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def _refusals_show(modeladmin, request, done: int, refusals: list[str], words: str) -> None:
    if done:
        modeladmin.message_user(request, words % done, messages.SUCCESS)
    for refusal in refusals:
        modeladmin.message_user(request, _("Refused: %s") % refusal, messages.ERROR)


class RatingFilter(admin.SimpleListFilter):
    title = gettext_lazy("stars")
    parameter_name = "rating"

    def lookups(self, request, model_admin):
        return [(str(stars), stars_display(stars)) for stars in range(5, 0, -1)]

    def queryset(self, request, queryset):
        return queryset.filter(rating=int(self.value())) if self.value() in {"1", "2", "3", "4", "5"} else queryset


class HasMediaFilter(admin.SimpleListFilter):
    title = gettext_lazy("photos or video")
    parameter_name = "media"

    def lookups(self, request, model_admin):
        return [("yes", _("With photos or video")), ("no", _("Words only"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(media_count__gt=0)
        if self.value() == "no":
            return queryset.filter(media_count=0)
        return queryset


class ParentShopMixin(ShopScopedMixin):
    def shop_id_of(self, obj):
        # Permission checks of an inline receive the parent row, which carries its shop.
        return obj.shop_id if hasattr(obj, "shop_id") else super().shop_id_of(obj)


class ReadOnlyInline(ParentShopMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    role_permissions = STAFF_WORK

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReviewMediaInline(ReadOnlyInline):
    model = ReviewMedia
    shop_path = "review__shop"
    fields = ("preview", "kind", "content_type", "size_bytes", "width", "height", "original_name", "created_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("file"))
    def preview(self, media: ReviewMedia) -> str:
        url = reverse("admin:reviews_review_media", args=[media.review_id, media.pk])
        if media.kind == ReviewMedia.Kind.PHOTO:
            return format_html('<a href="{0}"><img src="{0}" alt="" style="max-width:8rem;max-height:8rem"></a>', url)
        return format_html('<a href="{}">{}</a>', url, _("Open the video"))


class ReviewEventInline(ReadOnlyInline):
    model = ReviewEvent
    shop_path = "review__shop"
    fields = ("at", "action", "from_status", "to_status", "actor_label", "note")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("history")


@admin.register(Review)
class ReviewAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK
    list_display = (
        "submitted_at",
        "stars",
        "product_title",
        "headline",
        "status",
        "flag_list",
        "media_count_display",
        "incentivized",
        "customer",
        "shop",
    )
    list_filter = (
        RatingFilter,
        ("product", admin.RelatedOnlyFieldListFilter),
        "status",
        HasMediaFilter,
        "incentivized",
        "source",
        ("shop", ShopListFilter),
    )
    list_select_related = ("shop", "customer")
    search_fields = ("title", "text", "product_title", "customer__email", "order__number")
    date_hierarchy = "submitted_at"
    actions = ("publish_reviews", "hide_reviews")
    inlines = (ReviewMediaInline, ReviewEventInline)
    readonly_fields = (
        "shop",
        "stars",
        "title",
        "text",
        "product_title",
        "product",
        "customer",
        "order",
        "language",
        "status",
        "flag_list",
        "flag_details",
        "incentivized",
        "incentive_note",
        "source",
        "submitted_at",
        "edited_at",
        "published_at",
        "hidden_at",
        "hidden_reason",
        "hidden_note",
        "hidden_by",
        "replied_at",
        "attention",
    )
    fieldsets = (
        (
            gettext_lazy("What the customer wrote (nobody can change it)"),
            {"fields": ("shop", "stars", "title", "text", ("product_title", "product"), ("customer", "order"))},
        ),
        (
            gettext_lazy("Publishing"),
            {
                "fields": (
                    ("status", "source", "language"),
                    ("flag_list", "flag_details"),
                    ("incentivized", "incentive_note"),
                    ("submitted_at", "edited_at", "published_at"),
                    ("hidden_at", "hidden_reason", "hidden_by"),
                    "hidden_note",
                    "attention",
                )
            },
        ),
        (gettext_lazy("Public reply"), {"fields": ("reply_text", "replied_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(media_count=Count("media", distinct=True))

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_moderate_permission(self, request, obj=None):
        return request.user.is_superuser or self._role_allows(request, MODERATE, obj)

    # --- columns ------------------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("stars"), ordering="rating")
    def stars(self, review: Review) -> str:
        return stars_display(review.rating)

    @admin.display(description=gettext_lazy("review"))
    def headline(self, review: Review) -> str:
        words = review.title or review.text
        return words if len(words) <= 80 else words[:79] + "…"

    @admin.display(description=gettext_lazy("flags"))
    def flag_list(self, review: Review) -> str:
        labels = dict(Review.Flag.choices)
        return ", ".join(str(labels.get(flag, flag)) for flag in review.flags) or "—"

    @admin.display(description=gettext_lazy("media"), ordering="media_count")
    def media_count_display(self, review: Review) -> int:
        return getattr(review, "media_count", 0)

    @admin.display(description=gettext_lazy("needs attention"))
    def attention(self, review: Review) -> str:
        item = AttentionItem.objects.filter(review=review).first()
        if item is None:
            return "—"
        url = reverse("admin:reviews_attentionitem_change", args=[item.pk])
        return format_html('<a href="{}">{} · {}</a>', url, item.get_status_display(), item.due_at)

    # --- the reply is the one thing staff write ---------------------------------------------------
    def save_model(self, request, obj, form, change):
        if "reply_text" in form.changed_data:
            review_reply(review=obj, actor=Actor.staff(request.user), text=form.cleaned_data["reply_text"])

    def log_change(self, request, obj, message):
        """The review's own history records the reply (ReviewEvent)."""

    # --- moderation ------------------------------------------------------------------------------------
    @admin.action(description=gettext_lazy("Publish selected reviews"), permissions=[MODERATE])
    def publish_reviews(self, request, queryset):
        actor = Actor.staff(request.user)
        done, refusals = 0, []
        for review in queryset:
            try:
                review_publish(review=review, actor=actor)
            except InvalidTransition as error:
                refusals.append(str(error))
            else:
                done += 1
        _refusals_show(self, request, done, refusals, ngettext("%d review published.", "%d reviews published.", done))

    @admin.action(description=gettext_lazy("Hide selected reviews (with a reason)…"), permissions=[MODERATE])
    def hide_reviews(self, request, queryset):
        form = HideReviewsForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            actor = Actor.staff(request.user)
            done, refusals = 0, []
            for review in queryset:
                try:
                    review_hide(
                        review=review, actor=actor, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
                    )
                except ValidationError as error:
                    for field, problems in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, problems)
                    break
                except InvalidTransition as error:
                    refusals.append(str(error))
                else:
                    done += 1
            else:
                _refusals_show(self, request, done, refusals, ngettext("%d review hidden.", "%d reviews hidden.", done))
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Hide reviews"),
            "opts": self.model._meta,
            "form": form,
            "reviews": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "hide_reviews",
        }
        return TemplateResponse(request, "admin/reviews/review/hide.html", context, status=400 if form.errors else 200)

    # --- media files, for people who may see the review ------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<path:object_id>/media/<int:media_id>/",
                self.admin_site.admin_view(self.media_view),
                name="reviews_review_media",
            ),
            *super().get_urls(),
        ]

    def media_view(self, request, object_id, media_id):
        review = self.get_object(request, object_id)  # another shop's review: 404
        if not self.has_view_permission(request, review):
            return TemplateResponse(request, "admin/404.html", status=404)
        return media_file_response(get_object_or_404(ReviewMedia, pk=media_id, review=review))


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
    actions = ("resolve_items",)
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
        _refusals_show(self, request, done, refusals, ngettext("%d item resolved.", "%d items resolved.", done))


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
        _refusals_show(self, request, done, [], ngettext("%d request cancelled.", "%d requests cancelled.", done))


@admin.register(NpsResponse)
class NpsResponseAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK
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


OWNER_EDITS = {Role.OWNER: frozenset({VIEW, ADD, CHANGE}), Role.AGENT: frozenset({VIEW})}


class ReviewDelayInline(ParentShopMixin, admin.TabularInline):
    model = ReviewDelay
    shop_path = "policy__shop"
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, "delete"}), Role.AGENT: frozenset({VIEW})}
    extra = 1
    fields = ("category", "product", "delay_days")
    verbose_name_plural = gettext_lazy(
        "Ask sooner or later for some products (a product's delay wins over its category's)"
    )


class ReviewPolicyChangeInline(ReadOnlyInline):
    model = ReviewPolicyChange
    shop_path = "policy__shop"
    role_permissions = OWNER_EDITS
    fields = ("at", "field", "old_value", "new_value", "actor_label")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Changes (kept as evidence)")


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(ShopScopedAdmin):
    role_permissions = OWNER_EDITS
    list_display = ("shop", "default_delay_days", "customer_cap_days", "reminder_count", "coupon_summary")
    list_select_related = ("shop",)
    inlines = (ReviewDelayInline, ReviewPolicyChangeInline)
    fieldsets = (
        (None, {"fields": ("shop",)}),
        (
            gettext_lazy("When to ask"),
            {"fields": ("default_delay_days", ("customer_cap_days", "product_cap_days"), "link_valid_days")},
        ),
        (gettext_lazy("Reminders"), {"fields": (("reminder_count", "reminder_after_days"),)}),
        (gettext_lazy("Unhappy customers"), {"fields": ("attention_hours",)}),
        (
            gettext_lazy("Thank-you coupon"),
            {
                "fields": ("coupon_code", "coupon_description"),
                "description": gettext_lazy(
                    "Given for every honest review, whatever its rating (US FTC rule 16 CFR 465.4); reviews written "
                    "with it are marked as incentivized."
                ),
            },
        ),
    )

    @admin.display(description=gettext_lazy("coupon"))
    def coupon_summary(self, policy: ReviewPolicy) -> str:
        return policy.coupon_code or "—"

    def save_model(self, request, obj, form, change):
        actor = Actor.staff(request.user)
        changes = {name: form.cleaned_data[name] for name in AUDITED_FIELDS if name in form.cleaned_data}
        policy = obj if change else review_policy_get_or_create(shop=obj.shop)
        saved = review_policy_update(policy=ReviewPolicy.objects.get(pk=policy.pk), actor=actor, **changes)
        obj.pk, obj.id = saved.pk, saved.pk
        # A shop created before reviews existed gets its review rules (off) when its owner sets the policy.
        review_rules_default_create(shop=saved.shop)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ReviewDelay:
            return super().save_formset(request, form, formset, change)
        for delay in formset.save(commit=False):
            delay.policy = form.instance
            review_delay_save(delay=delay)
        for removed in formset.deleted_objects:
            removed.delete()
        return None

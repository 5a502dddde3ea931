"""Reviews in the admin: the list with its filters, moderation actions, the public reply, private follow-ups,
media files, and CSV export (the filtered list, streamed) and import (owners)."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from merchant.actors import Actor
from merchant.admin.tenancy import ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition
from merchant.models import Merchant
from reviews.admin.common import IMPORT, MODERATE, STAFF_WORK, ReadOnlyInline, refusals_show, stars_display
from reviews.csv_files import IMPORT_COLUMNS, reviews_csv_lines, reviews_from_csv
from reviews.forms import FollowUpForm, HideReviewsForm, ReviewImportForm
from reviews.models import (
    AttentionItem,
    Review,
    ReviewEvent,
    ReviewFollowUp,
    ReviewMedia,
)
from reviews.services.follow_ups import review_follow_up_send
from reviews.services.imports import reviews_import
from reviews.services.moderation import review_hide, review_publish, review_reply
from reviews.views import media_file_response


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


class ReviewFollowUpInline(ReadOnlyInline):
    model = ReviewFollowUp
    fields = ("created_at", "written_by_label", "text", "message_status")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("private messages to the customer")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("message")

    @admin.display(description=gettext_lazy("message"))
    def message_status(self, follow_up: ReviewFollowUp) -> str:
        if follow_up.message_id is None:
            return "—"
        url = reverse("admin:journeys_message_change", args=[follow_up.message_id])
        return format_html('<a href="{}">{}</a>', url, follow_up.message.get_status_display())


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
        "source",
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
    inlines = (ReviewMediaInline, ReviewFollowUpInline, ReviewEventInline)
    change_list_template = "admin/reviews/review/change_list.html"
    change_form_template = "admin/reviews/review/change_form.html"
    readonly_fields = (
        "shop",
        "stars",
        "title",
        "text",
        "product_title",
        "product",
        "customer",
        "author_name",
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
            {
                "fields": (
                    "shop",
                    "stars",
                    "title",
                    "text",
                    ("product_title", "product"),
                    ("customer", "author_name", "order"),
                )
            },
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
        refusals_show(self, request, done, refusals, ngettext("%d review published.", "%d reviews published.", done))

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
                refusals_show(self, request, done, refusals, ngettext("%d review hidden.", "%d reviews hidden.", done))
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

    # --- media files, CSV, follow-ups ------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/media/<int:media_id>/", view(self.media_view), name="reviews_review_media"),
            path("<path:object_id>/follow-up/", view(self.follow_up_view), name="reviews_review_follow_up"),
            path("export/", view(self.export_view), name="reviews_review_export"),
            path("import/", view(self.import_view), name="reviews_review_import"),
            *super().get_urls(),
        ]

    def has_import_permission(self, request) -> bool:
        return bool(self.shop_ids_allowing(request, IMPORT))

    def changelist_view(self, request, extra_context=None):
        extra_context = {"can_import": self.has_import_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        review = self.get_object(request, object_id)
        extra_context = {
            "can_follow_up": review.customer_id is not None and self.has_change_permission(request, review),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def export_view(self, request):
        """The list as filtered and searched on the page (every page of it), as a CSV file, streamed."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:reviews_review_changelist") + "?e=1")
        reviews = (
            changelist.queryset.select_related("shop", "product", "customer", "order")
            .annotate(media_count=Count("media", distinct=True))
            .iterator(chunk_size=1000)
        )
        response = StreamingHttpResponse(reviews_csv_lines(reviews), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="reviews-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response

    def import_view(self, request):
        """Upload a CSV file of reviews: every problem by line and column, or all rows imported."""
        shop_ids = self.shop_ids_allowing(request, IMPORT)
        if not shop_ids:
            raise PermissionDenied
        shops = Merchant.objects.filter(pk__in=shop_ids)
        form = ReviewImportForm(request.POST or None, request.FILES or None, shops=shops)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import reviews from CSV"),
            "form": form,
            "columns": IMPORT_COLUMNS,
        }
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                shop = form.cleaned_data["shop"]
                parsed = reviews_from_csv(form.cleaned_data["file"], shop=shop)
                context["parsed"] = parsed
                if parsed.ok:
                    result = reviews_import(shop=shop, parsed=parsed, actor=Actor.staff(request.user))
                    words = _("%(created)d reviews imported into %(shop)s (marked “Import”).") % {
                        "created": result.created,
                        "shop": shop,
                    }
                    if result.already_imported:
                        words += " " + _("%d were imported before and were left as they are.") % result.already_imported
                    if parsed.ignored_columns:
                        words += " " + _("Ignored columns: %s.") % ", ".join(parsed.ignored_columns)
                    self.message_user(request, words, messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:reviews_review_changelist") + "?source__exact=import")
        return TemplateResponse(request, "admin/reviews/review/import.html", context, status=status)

    def follow_up_view(self, request, object_id):
        """Write the customer a private message about their review (sent through journeys)."""
        review = self.get_object(request, object_id)  # another shop's review: 404
        if not self.has_change_permission(request, review):
            raise PermissionDenied
        form = FollowUpForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                review_follow_up_send(review=review, actor=Actor.staff(request.user), text=form.cleaned_data["text"])
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                self.message_user(request, _("The message to the customer is on its way."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:reviews_review_change", args=[review.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Private message to the customer"),
            "review": review,
            "original": review,
            "form": form,
            "follow_ups": review.follow_ups.select_related("message")[:20],
        }
        status = 400 if form.errors else 200
        return TemplateResponse(request, "admin/reviews/review/follow_up.html", context, status=status)

    def media_view(self, request, object_id, media_id):
        review = self.get_object(request, object_id)  # another shop's review: 404
        if not self.has_view_permission(request, review):
            return TemplateResponse(request, "admin/404.html", status=404)
        return media_file_response(get_object_or_404(ReviewMedia, pk=media_id, review=review))

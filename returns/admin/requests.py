"""Admin of returns: return requests (the list, each request with its lines, photos and history, and a button
per step, each calling its service) and the return policy of each shop.

Nothing of a request is edited in place: every change is a step (approve, decline, in transit, received,
inspect, cancel) with its own small form, so each is audited with the person who took it and the customer is
told through journeys. Everything is scoped to the person's shops; another shop's id answers 404.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from merchant.actors import Actor
from merchant.admin.tenancy import CHANGE, VIEW, ReadOnlyInline, Role, ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition
from returns.forms import DeclineForm, InspectLineForm, InTransitForm, NoteForm, ReturnPolicyForm
from returns.models import ReturnEvent, ReturnLine, ReturnPhoto, ReturnPolicy, ReturnRequest
from returns.services.policy import return_policy_check, return_policy_save
from returns.services.requests import (
    LineInspection,
    return_request_approve,
    return_request_cancel,
    return_request_decline,
    return_request_inspect,
    return_request_mark_in_transit,
    return_request_mark_received,
)

# Both roles work the queue; owners also set the policy.
QUEUE_WORK = {Role.OWNER: frozenset({VIEW, CHANGE}), Role.AGENT: frozenset({VIEW, CHANGE})}
POLICY_WORK = {Role.OWNER: frozenset({VIEW, CHANGE}), Role.AGENT: frozenset({VIEW})}
S = ReturnRequest.Status


class _ReadOnlyInline(ReadOnlyInline):
    role_permissions = QUEUE_WORK
    shop_path = "return_request__shop"


class ReturnLineInline(_ReadOnlyInline):
    model = ReturnLine
    fields = (
        "order_line",
        "quantity",
        "disposition",
        "accepted_quantity",
        "credit_amount",
        "restock",
        "inspection_note",
    )
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("items")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")


class ReturnPhotoInline(_ReadOnlyInline):
    model = ReturnPhoto
    fields = ("preview", "original_name", "content_type", "size", "width", "height", "created_at")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("photos")

    @admin.display(description=gettext_lazy("photo"))
    def preview(self, photo: ReturnPhoto) -> str:
        url = reverse("admin:returns_returnrequest_photo", args=[photo.return_request_id, photo.pk])
        return format_html('<a href="{0}"><img src="{0}" alt="" style="max-width:8rem;max-height:8rem"></a>', url)


class ReturnEventInline(_ReadOnlyInline):
    model = ReturnEvent
    fields = ("at", "action", "from_status", "to_status", "actor_kind", "actor_label", "note")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("history")


# Which step buttons a request shows, by status (the transitions table decides; this only names the pages).
STEPS = {
    "approve": (gettext_lazy("Approve"), S.APPROVED),
    "decline": (gettext_lazy("Decline"), S.DECLINED),
    "in_transit": (gettext_lazy("Mark in transit"), S.IN_TRANSIT),
    "received": (gettext_lazy("Mark received"), S.RECEIVED),
    "inspect": (gettext_lazy("Inspect"), S.INSPECTED),
    "cancel": (gettext_lazy("Cancel"), S.CANCELLED),
}


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ShopScopedAdmin):
    role_permissions = QUEUE_WORK
    list_display = (
        "number",
        "created_at",
        "status",
        "reason",
        "items",
        "estimated_refund",
        "currency",
        "auto_approved",
        "customer",
        "shop",
    )
    list_filter = ("status", "reason", "auto_approved", "eu_floor_applied", ("shop", ShopListFilter))
    list_select_related = ("shop", "customer", "order")
    search_fields = ("number", "order__number", "customer__email", "customer__last_name", "return_tracking_number")
    date_hierarchy = "created_at"
    actions = ("approve_selected",)
    inlines = (ReturnLineInline, ReturnPhotoInline, ReturnEventInline)
    change_form_template = "admin/returns/returnrequest/change_form.html"
    fieldsets = (
        (
            gettext_lazy("Request"),
            {
                "fields": (
                    ("number", "status", "shop"),
                    ("order", "customer"),
                    ("reason", "refund_method"),
                    "comment",
                    ("estimated_refund", "restocking_fee", "currency"),
                )
            },
        ),
        (
            gettext_lazy("Policy"),
            {"fields": (("window_ends_at", "eu_floor_applied"), ("auto_approved", "review_reasons"))},
        ),
        (
            gettext_lazy("Steps"),
            {
                "fields": (
                    ("approved_at", "instructions_expire_at"),
                    ("decline_code", "decline_message"),
                    ("return_carrier", "return_tracking_number", "shipped_back_at"),
                    ("received_at", "inspected_at", "closed_at"),
                )
            },
        ),
    )
    readonly_fields = tuple(
        name
        for group in fieldsets
        for row in group[1]["fields"]
        for name in (row if isinstance(row, tuple) else (row,))
    )

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines__order_line")

    @admin.display(description=gettext_lazy("items"))
    def items(self, obj: ReturnRequest) -> str:
        return format_html_join(", ", "{} × {}", ((line.quantity, line.order_line.title) for line in obj.lines.all()))

    # --- list action ----------------------------------------------------------------------------------------
    @admin.action(description=gettext_lazy("Approve selected return requests"), permissions=["change"])
    def approve_selected(self, request, queryset):
        actor = Actor.staff(request.user)
        done = 0
        for return_request in queryset:
            try:
                return_request_approve(return_request=return_request, actor=actor)
            except InvalidTransition as error:
                self.message_user(request, _("Refused: %s") % error, messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request, ngettext("%d return approved.", "%d returns approved.", done) % done, messages.SUCCESS
            )

    # --- step pages -----------------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/step/<str:step>/", view(self.step_view), name="returns_returnrequest_step"),
            path("<path:object_id>/photo/<int:photo_id>/", view(self.photo_view), name="returns_returnrequest_photo"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)  # another shop's: 404
        can_change = self.has_change_permission(request, obj)
        steps = [
            (name, label)
            for name, (label, target) in STEPS.items()
            if can_change and obj.can_move_to(target) and not (name == "approve" and obj.status == S.APPROVED)
        ]
        extra_context = {"steps": steps, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    def _step_form(self, step: str, obj: ReturnRequest, data):
        if step == "decline":
            return DeclineForm(data)
        if step == "in_transit":
            return InTransitForm(data, initial={"carrier": obj.return_carrier})
        if step == "inspect":
            return [
                InspectLineForm(data, prefix=f"line-{line.pk}", line=line, initial={"accepted_quantity": line.quantity})
                for line in obj.lines.select_related("order_line")
            ]
        return NoteForm(data)

    def _step_run(self, step: str, obj: ReturnRequest, form, actor: Actor) -> None:
        if step == "approve":
            return_request_approve(return_request=obj, actor=actor, note=form.cleaned_data["note"])
        elif step == "decline":
            return_request_decline(
                return_request=obj, actor=actor, code=form.cleaned_data["code"], message=form.cleaned_data["message"]
            )
        elif step == "in_transit":
            return_request_mark_in_transit(return_request=obj, actor=actor, **form.cleaned_data)
        elif step == "received":
            return_request_mark_received(return_request=obj, actor=actor, note=form.cleaned_data["note"])
        elif step == "cancel":
            return_request_cancel(return_request=obj, actor=actor, note=form.cleaned_data["note"])
        elif step == "inspect":
            return_request_inspect(
                return_request=obj,
                actor=actor,
                lines=[
                    LineInspection(
                        return_line_id=line_form.line.pk,
                        disposition=line_form.cleaned_data["disposition"],
                        accepted_quantity=line_form.cleaned_data["accepted_quantity"],
                        restock=line_form.cleaned_data["restock"],
                        note=line_form.cleaned_data["note"],
                    )
                    for line_form in form
                ],
            )

    def step_view(self, request, object_id, step: str):
        """One step of the request: its form (GET), and the service call (POST); errors name the field."""
        if step not in STEPS:
            raise Http404("No such step.")
        obj = self.get_object(request, object_id)  # another shop's: 404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        label, _target = STEPS[step]
        data = request.POST if request.method == "POST" else None
        form = self._step_form(step, obj, data)
        forms_ = form if isinstance(form, list) else [form]
        problems: list[str] = []
        # Every form is validated (a list, not a generator that stops early), so all problems show at once.
        if request.method == "POST" and all([f.is_valid() for f in forms_]):  # noqa: C419
            try:
                self._step_run(step, obj, form, Actor.staff(request.user))
            except ValidationError as error:
                for field, messages_ in error.message_dict.items():
                    target = forms_[0] if len(forms_) == 1 and field in forms_[0].fields else None
                    if target is not None:
                        target.add_error(field, messages_)
                    else:
                        problems.extend(messages_)
            except InvalidTransition as error:
                self.message_user(request, _("Refused: %s") % error, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:returns_returnrequest_change", args=[obj.pk]))
            else:
                self.message_user(
                    request, _("%(number)s: %(step)s done.") % {"number": obj.number, "step": label}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:returns_returnrequest_change", args=[obj.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{label}: {obj.number}",
            "original": obj,
            "step": step,
            "forms": forms_,
            "problems": problems,
            "lines": obj.lines.select_related("order_line"),
        }
        failed = request.method == "POST" and (problems or any(f.errors for f in forms_))
        return TemplateResponse(
            request, "admin/returns/returnrequest/step.html", context, status=400 if failed else 200
        )

    def photo_view(self, request, object_id, photo_id):
        obj = self.get_object(request, object_id)  # another shop's: 404
        photo = get_object_or_404(ReturnPhoto, pk=photo_id, return_request=obj)
        try:
            handle = photo.file.open("rb")
        except FileNotFoundError:
            raise Http404("The file is gone.") from None
        response = FileResponse(handle, content_type=photo.content_type)
        response["Cache-Control"] = "private, max-age=3600"
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
        return response


class _PolicyForm(ReturnPolicyForm):
    def _post_clean(self):
        super()._post_clean()
        try:
            return_policy_check(self.instance)
        except ValidationError as error:
            self._update_errors(error)


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(ShopScopedAdmin):
    role_permissions = POLICY_WORK
    form = _PolicyForm
    list_display = ("shop", "window_days", "restocking_fee_percent", "auto_approve_max_amount", "review_above_amount")
    list_select_related = ("shop",)
    fieldsets = (
        (gettext_lazy("Window"), {"fields": ("shop", "window_days", "non_returnable_categories")}),
        (
            gettext_lazy("Who decides"),
            {"fields": ("auto_approve_max_amount", "auto_approve_reasons", "review_above_amount")},
        ),
        (
            gettext_lazy("Refunds"),
            {"fields": ("restocking_fee_percent", "refund_methods", "refund_approval_threshold")},
        ),
        (gettext_lazy("Sending items back"), {"fields": ("return_instructions", "instructions_valid_days")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        return_policy_save(policy=obj, actor=Actor.staff(request.user))

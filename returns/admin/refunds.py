"""Admin of returns: refunds. The list and the refund's page, scoped to the person's shops; the Refund page
that proposes a refund of an order or of an inspected return with what is left shown; approve (owners),
process (with the reference of money sent by hand), cancel, reverse. Every button calls a service.

The Refund form carries a one-time key made when the page is shown: a double click, or the form sent
again, finds the refund the first click made and never makes a second.
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchant.actors import Actor
from merchant.admin.tenancy import CHANGE, VIEW, ReadOnlyInline, Role, ShopListFilter, ShopScopedAdmin
from merchant.exceptions import ApplicationError
from merchant.models import Order
from merchant.selectors import user_shop_roles
from returns.gateways import GatewayResult, gateway_get
from returns.models import Refund, RefundEvent, RefundLine, RefundMethod, ReturnPolicy, ReturnRequest
from returns.selectors.refunds import refundable_get
from returns.services.refund_outcomes import return_request_refund
from returns.services.refunds import (
    RefundLineInput,
    actor_is_owner,
    refund_approve,
    refund_cancel,
    refund_create,
    refund_outcome_record,
    refund_process,
    refund_reverse,
)

APPROVE = "approve"
# Both roles refund; only owners approve refunds above the shop's threshold.
REFUND_WORK = {
    Role.OWNER: frozenset({VIEW, CHANGE, APPROVE}),
    Role.AGENT: frozenset({VIEW, CHANGE}),
}


class ReadOnlyRefundInline(ReadOnlyInline):
    """Rows of one refund, never edited here."""

    shop_path = "refund__shop"
    role_permissions = REFUND_WORK

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class RefundLineInline(ReadOnlyRefundInline):
    model = RefundLine
    fields = ("order_line", "quantity", "amount")


class RefundEventInline(ReadOnlyRefundInline):
    model = RefundEvent
    fields = ("at", "action", "from_status", "to_status", "actor_label", "note")
    verbose_name_plural = gettext_lazy("history")


class RefundNewForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        min_value=0,
        decimal_places=2,
        help_text=gettext_lazy("Leave empty to refund the items chosen below at their price."),
    )
    method = forms.ChoiceField(choices=RefundMethod.choices)
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=90)

    def __init__(self, *args, refundable, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(value, label) for value, label in RefundMethod.choices if value in methods]
        self.line_fields = []
        for line in refundable.lines:
            name = f"line_{line.order_line.pk}"
            self.fields[name] = forms.IntegerField(
                required=False,
                min_value=0,
                max_value=line.quantity_left,
                initial=0,
                label=line.order_line.title,
                help_text=_("%(left)d of %(bought)d can still be refunded, %(amount)s left")
                % {"left": line.quantity_left, "bought": line.bought, "amount": line.amount_left},
            )
            self.line_fields.append((name, line))

    def lines(self) -> list[RefundLineInput]:
        return [
            RefundLineInput(order_line=line.order_line, quantity=self.cleaned_data[name])
            for name, line in self.line_fields
            if self.cleaned_data.get(name)
        ]

    def add_service_errors(self, error: ValidationError) -> None:
        by_index = {f"lines[{index}]": name for index, (name, _line) in enumerate(self._chosen())}
        for field, problems in error.message_dict.items():
            target = field if field in self.fields else None
            prefix = field.split(".")[0]
            if prefix in by_index:
                target = by_index[prefix]
            self.add_error(target, problems)

    def _chosen(self):
        return [(name, line) for name, line in self.line_fields if self.cleaned_data.get(name)]


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class OutcomeForm(forms.Form):
    """What the bank or provider says became of a refund left processing."""

    outcome = forms.ChoiceField(
        choices=[("succeeded", gettext_lazy("The money went out")), ("failed", gettext_lazy("It failed"))]
    )
    reference = forms.CharField(required=False, max_length=200)
    reason = forms.CharField(required=False, max_length=500)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") == "succeeded" and not cleaned.get("reference", "").strip():
            self.add_error("reference", gettext_lazy("Give the reference the bank or provider shows for it."))
        if cleaned.get("outcome") == "failed" and not cleaned.get("reason", "").strip():
            self.add_error("reason", gettext_lazy("Say why it failed, as the bank or provider says it."))
        return cleaned


class ReferenceForm(forms.Form):
    reference = forms.CharField(
        required=False,
        max_length=200,
        help_text=gettext_lazy("The bank transfer's reference or the payment provider's refund id."),
    )


@admin.register(Refund)
class RefundAdmin(ShopScopedAdmin):
    role_permissions = REFUND_WORK
    list_display = ("created_at", "order", "amount_display", "method", "status", "gateway", "reference", "shop")
    list_filter = ("status", "method", "gateway", ("shop", ShopListFilter))
    list_select_related = ("order", "shop")
    search_fields = ("order__number", "reference", "platform_refund_id", "idempotency_key")
    inlines = (RefundLineInline, RefundEventInline)
    readonly_fields = (
        "shop",
        "order",
        "return_request",
        "status",
        "amount",
        "currency",
        "method",
        "reason",
        "gateway",
        "reference",
        "platform_refund_id",
        "failure_reason",
        "expected_by",
        "requested_by",
        "approved_by",
        "approved_at",
        "succeeded_at",
        "closed_at",
        "reversed_at",
    )
    fields = readonly_fields
    change_form_template = "admin/returns/refund/change_form.html"

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, refund: Refund) -> str:
        return f"{refund.amount} {refund.currency}"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("new/", view(self.new_view), name="returns_refund_new"),
            path("<path:object_id>/approve/", view(self.approve_view), name="returns_refund_approve"),
            path("<path:object_id>/process/", view(self.process_view), name="returns_refund_process"),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="returns_refund_cancel"),
            path("<path:object_id>/reverse/", view(self.reverse_view), name="returns_refund_reverse"),
            path("<path:object_id>/outcome/", view(self.outcome_view), name="returns_refund_outcome"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        refund = self.get_object(request, object_id)
        can_change = self.has_change_permission(request, refund)
        S = Refund.Status
        extra_context = {
            "can_approve": can_change
            and refund.status == S.PENDING_APPROVAL
            and actor_is_owner(Actor.staff(request.user), refund.shop_id),
            "waits_for_owner": refund.status == S.PENDING_APPROVAL,
            "can_process": can_change and refund.status == S.APPROVED,
            "can_cancel": can_change and refund.status in (S.PROPOSED, S.PENDING_APPROVAL, S.APPROVED),
            "can_reverse": can_change and refund.status == S.SUCCEEDED,
            # Left processing when the process stopped between the gateway's answer and recording it.
            "can_record_outcome": can_change and refund.status == S.PROCESSING,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- the Refund page -----------------------------------------------------------------------------
    def _order_of(self, request) -> tuple[Order, ReturnRequest | None]:
        shop_ids = list(user_shop_roles(request.user)) if not request.user.is_superuser else None
        source = request.GET.get("return_request") or request.POST.get("return_request")
        if source:
            requests = ReturnRequest.objects.select_related("order")
            if shop_ids is not None:
                requests = requests.filter(shop_id__in=shop_ids)
            return_request = get_object_or_404(requests, pk=source) if str(source).isdigit() else None
            if return_request is None:
                raise Http404
            return return_request.order, return_request
        orders = Order.objects.all() if shop_ids is None else Order.objects.filter(shop_id__in=shop_ids)
        order_id = request.GET.get("order") or request.POST.get("order") or ""
        if not order_id.isdigit():
            raise Http404(_("Open the Refund page from an order or a return."))
        return get_object_or_404(orders, pk=order_id), None

    def new_view(self, request):
        """Propose a refund of an order, or refund an inspected return, with what is left shown."""
        order, return_request = self._order_of(request)
        if not self.has_change_permission(request, Refund(shop_id=order.shop_id, order=order)):
            raise PermissionDenied
        refundable = refundable_get(order=order)
        policy = ReturnPolicy.objects.filter(shop_id=order.shop_id).first()
        methods = policy.refund_methods if policy else [RefundMethod.ORIGINAL_PAYMENT, RefundMethod.STORE_CREDIT]
        actor = Actor.staff(request.user)
        if request.method == "POST" and return_request is not None:
            return self._refund_return(request, return_request, actor)
        initial = {"idempotency_key": uuid.uuid4().hex, "method": methods[0] if methods else None}
        form = RefundNewForm(
            request.POST if request.method == "POST" else None,
            initial=initial,
            refundable=refundable,
            methods=methods,
        )
        if request.method == "POST" and form.is_valid():
            key = f"admin:{form.cleaned_data['idempotency_key']}"
            existed = Refund.objects.filter(shop_id=order.shop_id, idempotency_key=key).first()
            try:
                refund = refund_create(
                    order=order,
                    amount=form.cleaned_data["amount"],
                    lines=form.lines(),
                    method=form.cleaned_data["method"],
                    reason=form.cleaned_data["reason"],
                    idempotency_key=key,
                    actor=actor,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                words = (
                    _("This refund was already made: here it is.")
                    if existed
                    else _("Refund of %(amount)s %(currency)s: %(status)s.")
                    % {"amount": refund.amount, "currency": refund.currency, "status": refund.get_status_display()}
                )
                self.message_user(request, words, messages.INFO if existed else messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:returns_refund_change", args=[refund.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Refund order %(number)s") % {"number": order.number},
            "order": order,
            "return_request": return_request,
            "refundable": refundable,
            "form": form,
            "line_fields": [(form[name], line) for name, line in form.line_fields],
            "refunds": order.refunds.order_by("-created_at", "-id")[:20],
        }
        status = 400 if form.errors else 200
        return TemplateResponse(request, "admin/returns/refund/new.html", context, status=status)

    def _refund_return(self, request, return_request: ReturnRequest, actor: Actor):
        method = request.POST.get("method") or None
        try:
            refund = return_request_refund(return_request=return_request, actor=actor, method=method)
        except (ValidationError, ApplicationError) as error:
            for problem in getattr(error, "messages", [str(error)]):
                self.message_user(request, problem, messages.ERROR)
            url = reverse("admin:returns_refund_new") + f"?return_request={return_request.pk}"
            return HttpResponseRedirect(url)
        if refund is None:
            self.message_user(request, _("Every line was rejected: the return is closed without refund."))
            return HttpResponseRedirect(reverse("admin:returns_refund_changelist"))
        return HttpResponseRedirect(reverse("admin:returns_refund_change", args=[refund.pk]))

    # --- buttons of a refund -------------------------------------------------------------------------
    def _refund_for_change(self, request, object_id) -> Refund:
        refund = self.get_object(request, object_id)  # another shop's refund: 404
        if not self.has_change_permission(request, refund):
            raise PermissionDenied
        return refund

    def _done(self, request, refund: Refund, words: str):
        self.message_user(request, words, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:returns_refund_change", args=[refund.pk]))

    def _refused(self, request, refund: Refund, error: Exception):
        problems = error.messages if isinstance(error, ValidationError) else [str(error)]
        for problem in problems:
            self.message_user(request, _("Refused: %s") % problem, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:returns_refund_change", args=[refund.pk]))

    def approve_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        refund = self._refund_for_change(request, object_id)
        try:
            refund = refund_approve(refund=refund, actor=Actor.staff(request.user))
        except (PermissionDenied, ValidationError, ApplicationError) as error:
            return self._refused(request, refund, error)
        return self._done(request, refund, _("Approved."))

    def process_view(self, request, object_id):
        refund = self._refund_for_change(request, object_id)
        form = ReferenceForm(request.POST or None)
        needs_reference = gateway_get(refund.gateway).needs_reference
        if request.method == "POST" and form.is_valid():
            try:
                refund = refund_process(
                    refund=refund, actor=Actor.staff(request.user), reference=form.cleaned_data["reference"]
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            except ApplicationError as error:
                return self._refused(request, refund, error)
            else:
                if refund.status == Refund.Status.FAILED:
                    return self._refused(request, refund, ApplicationError(refund.failure_reason))
                return self._done(request, refund, _("Refund %(status)s.") % {"status": refund.get_status_display()})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Send the refund"),
            "refund": refund,
            "original": refund,
            "form": form,
            "needs_reference": needs_reference,
        }
        return TemplateResponse(
            request, "admin/returns/refund/process.html", context, status=400 if form.errors else 200
        )

    def cancel_view(self, request, object_id):
        return self._reason_step(request, object_id, refund_cancel, _("Cancelled."))

    def reverse_view(self, request, object_id):
        return self._reason_step(
            request, object_id, refund_reverse, _("Recorded as reversed; the support queue has it.")
        )

    def _reason_step(self, request, object_id, service, done_words: str):
        """A step whose only input is why (cancel, reverse): a reason that does not fit is refused, nothing changes."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        refund = self._refund_for_change(request, object_id)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return self._refused(request, refund, ValidationError(form.errors))
        try:
            refund = service(refund=refund, actor=Actor.staff(request.user), reason=form.cleaned_data["reason"])
        except (ValidationError, ApplicationError) as error:
            return self._refused(request, refund, error)
        return self._done(request, refund, done_words)

    def outcome_view(self, request, object_id):
        """A refund left processing (the process stopped after calling the gateway): staff record what the bank
        or provider shows, which settles it exactly once."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        refund = self._refund_for_change(request, object_id)
        form = OutcomeForm(request.POST)
        if not form.is_valid():
            return self._refused(request, refund, ValidationError(form.errors))
        succeeded = form.cleaned_data["outcome"] == "succeeded"
        result = GatewayResult(
            reference=form.cleaned_data["reference"].strip() if succeeded else "",
            succeeded=succeeded,
            error="" if succeeded else form.cleaned_data["reason"].strip(),
        )
        try:
            refund = refund_outcome_record(refund=refund, result=result, actor=Actor.staff(request.user))
        except (ValidationError, ApplicationError) as error:
            return self._refused(request, refund, error)
        return self._done(request, refund, _("Recorded: %(status)s.") % {"status": refund.get_status_display()})

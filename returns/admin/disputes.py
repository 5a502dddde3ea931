"""Admin of returns: disputes. A list by deadline with the time left, a detail page with the evidence packet
and every step (add evidence, stage, submit, accept, settle, record the outcome, appeal), staff-recorded
marketplace disputes, and the packet as a printable page or a PDF.

Everything is scoped to the person's shops (another shop's dispute is 404) and every step calls a service
of returns.services.disputes; a refusal is shown as it was given.
"""

import datetime as dt
import logging
import mimetypes
from pathlib import Path
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchant.actors import Actor
from merchant.admin.tenancy import ADD, CHANGE, VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition
from merchant.models import Merchant, Order
from returns.admin import dispute_pdf
from returns.models import Dispute, DisputeEvidence
from returns.selectors.evidence import dispute_packet, packet_json, packet_localized
from returns.services import disputes as services

logger = logging.getLogger(__name__)
S = Dispute.Status
STAFF_WORK = {Role.OWNER: frozenset({VIEW, ADD, CHANGE}), Role.AGENT: frozenset({VIEW, ADD, CHANGE})}


def time_left(dispute: Dispute, now: dt.datetime) -> str:
    """“2 d 5 h left”, “overdue by 3 h”, or “—” when no answer is owed."""
    if dispute.due_at is None or dispute.status not in Dispute.AWAITING_ANSWER:
        return "—"
    if dispute.status == S.APPEAL_OPEN and dispute.appeal_submitted_at:
        return "—"
    seconds = int((dispute.due_at - now).total_seconds())
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    span = f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"
    return _("%s left") % span if seconds >= 0 else _("overdue by %s") % span


class AwaitingFilter(admin.SimpleListFilter):
    title = gettext_lazy("answer")
    parameter_name = "answer"

    def lookups(self, request, model_admin):
        return [("owed", _("Answer owed")), ("overdue", _("Overdue")), ("closed", _("Closed"))]

    def queryset(self, request, queryset):
        if self.value() == "owed":
            return queryset.filter(status__in=Dispute.AWAITING_ANSWER)
        if self.value() == "overdue":
            return queryset.filter(status__in=Dispute.AWAITING_ANSWER, due_at__lt=timezone.now())
        if self.value() == "closed":
            return queryset.filter(status__in=Dispute.CLOSED)
        return queryset


class LocalDateTimeField(forms.DateTimeField):
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]

    def to_python(self, value):
        # Read as written, in the shop's zone (made aware in the form's clean), not the server's.
        with timezone.override(dt.UTC):
            parsed = super().to_python(value)
        return parsed.replace(tzinfo=None) if parsed else None


def _in_shop_zone(value: dt.datetime | None, shop: Merchant) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(shop.time_zone or "UTC"))


class DisputeCreateForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=Merchant.objects.none(), label=gettext_lazy("Shop"))
    provider = forms.ChoiceField(choices=Dispute.Provider.choices, initial=Dispute.Provider.MARKETPLACE)
    external_id = forms.CharField(
        label=gettext_lazy("Provider's reference"), required=False, max_length=255,
        help_text=gettext_lazy("The claim or case number on the marketplace or bank letter."),
    )  # fmt: skip
    kind = forms.ChoiceField(choices=[("chargeback", gettext_lazy("Chargeback or claim")),
                                      ("inquiry", gettext_lazy("Inquiry"))])  # fmt: skip
    reason_category = forms.ChoiceField(choices=Dispute.ReasonCategory.choices, label=gettext_lazy("Reason"))
    order_number = forms.CharField(label=gettext_lazy("Order number"), required=False, max_length=64)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = forms.CharField(max_length=3, required=False, help_text=gettext_lazy("Default: the order's."))
    due_at = LocalDateTimeField(
        label=gettext_lazy("Answer due"), help_text=gettext_lazy("In the shop's time zone, as the provider states it.")
    )

    def __init__(self, *args, shops, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops
        if len(shops) == 1:
            self.fields["shop"].initial = shops[0].pk

    def clean(self):
        data = super().clean()
        shop = data.get("shop")
        if shop is None:
            return data
        data["due_at"] = _in_shop_zone(data.get("due_at"), shop)
        number = (data.get("order_number") or "").strip()
        data["order"] = None
        if number:
            candidates = {number, number.lstrip("#"), f"#{number.lstrip('#')}"}
            data["order"] = Order.objects.filter(shop=shop, number__in=candidates).first()
            if data["order"] is None:
                self.add_error("order_number", _("No order with this number in %s.") % shop)
        return data


class EvidenceForm(forms.Form):
    title = forms.CharField(max_length=200, label=gettext_lazy("Title"))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=gettext_lazy("Text"))
    file = forms.FileField(required=False, label=gettext_lazy("File"))


class AnswerForm(forms.Form):
    response_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}), required=False, label=gettext_lazy("Your answer"),
        help_text=gettext_lazy("Why the charge is valid, in plain words. It goes with the evidence."),
    )  # fmt: skip


class NoteForm(forms.Form):
    note = forms.CharField(max_length=500, required=False, label=gettext_lazy("Note"))
    due_at = LocalDateTimeField(required=False, label=gettext_lazy("Appeal due"))


# (action, button label, service, allowed from) — the buttons the detail page offers.
STEPS = [
    ("accept", gettext_lazy("Accept (do not contest)"), services.dispute_accept),
    ("settle", gettext_lazy("Settled with the customer"), services.dispute_settle),
    ("won", gettext_lazy("Record: won"), services.dispute_close_won),
    ("lost", gettext_lazy("Record: lost"), services.dispute_close_lost),
]
STEP_TARGETS = {"accept": S.ACCEPTED, "settle": S.SETTLED, "won": S.WON, "lost": S.LOST}


@admin.register(Dispute)
class DisputeAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK
    list_display = ("due_at", "time_left_display", "status", "reason_category", "amount_display", "order",
                    "customer", "reference", "shop")  # fmt: skip
    list_display_links = ("due_at", "reference")
    list_filter = ("status", AwaitingFilter, "reason_category", "provider", ("shop", ShopListFilter))
    list_select_related = ("shop", "order", "customer")
    search_fields = ("external_id", "order__number", "customer__email", "customer__last_name")
    list_per_page = 50

    def get_ordering(self, request):
        # Soonest deadline first; disputes without one (decided ones from the provider) last.
        return [F("due_at").asc(nulls_last=True), "-id"]

    def has_delete_permission(self, request, obj=None):
        return False  # the record of a dispute stays

    @admin.display(description=gettext_lazy("time left"))
    def time_left_display(self, dispute: Dispute) -> str:
        return time_left(dispute, timezone.now())

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, dispute: Dispute) -> str:
        return f"{dispute.amount} {dispute.currency}"

    @admin.display(description=gettext_lazy("reference"))
    def reference(self, dispute: Dispute) -> str:
        return str(dispute)

    # --- pages -------------------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/step/<slug:step>/", view(self.step_view), name="returns_dispute_step"),
            path("<path:object_id>/evidence/", view(self.evidence_view), name="returns_dispute_evidence"),
            path(
                "<path:object_id>/evidence/<int:evidence_id>/file/",
                view(self.evidence_file_view),
                name="returns_dispute_evidence_file",
            ),  # fmt: skip
            path("<path:object_id>/packet/", view(self.packet_view), name="returns_dispute_packet"),
            path("<path:object_id>/packet.pdf", view(self.packet_pdf_view), name="returns_dispute_packet_pdf"),
            *super().get_urls(),
        ]

    def _dispute(self, request, object_id, *, change: bool = False) -> Dispute:
        dispute = self.get_object(request, object_id)  # another shop's dispute: 404
        allowed = self.has_change_permission(request, dispute) if change else self.has_view_permission(request, dispute)
        if not allowed:
            raise PermissionDenied
        return dispute

    def add_view(self, request, form_url="", extra_context=None):
        shops = list(Merchant.objects.filter(pk__in=self.shop_ids_allowing(request, ADD)).order_by("name"))
        if not shops:
            raise PermissionDenied
        form = DisputeCreateForm(request.POST or None, shops=Merchant.objects.filter(pk__in=[s.pk for s in shops]))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                dispute = services.dispute_create(
                    shop=data["shop"], actor=Actor.staff(request.user), due_at=data["due_at"], amount=data["amount"],
                    reason_category=data["reason_category"], provider=data["provider"],
                    external_id=data["external_id"], kind=data["kind"], currency=data["currency"],
                    order=data["order"],
                )  # fmt: skip
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                self.message_user(request, _("Dispute recorded and put in the support queue."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:returns_dispute_change", args=[dispute.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Record a dispute"),
            "form": form,
        }
        return TemplateResponse(request, "admin/returns/dispute/add.html", context, status=400 if form.errors else 200)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        dispute = self._dispute(request, object_id)
        return self._detail(request, dispute)

    def _detail(self, request, dispute: Dispute, *, forms_given: dict | None = None, status: int = 200):
        can_change = self.has_change_permission(request, dispute)
        packet = packet_localized(packet_json(dispute_packet(dispute=dispute)), time_zone=dispute.shop.time_zone)
        answered = dispute.submitted_at if dispute.status != S.APPEAL_OPEN else dispute.appeal_submitted_at
        answerable = dispute.status in Dispute.AWAITING_ANSWER and not (
            answered and dispute.status in {S.EVIDENCE_STAGED, S.APPEAL_OPEN, S.SUBMITTED}
        )
        given = forms_given or {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Dispute %s") % dispute,
            "dispute": dispute,
            "original": dispute,
            "packet": packet,
            "zone": dispute.shop.time_zone,
            "time_left": time_left(dispute, timezone.now()),
            "can_change": can_change,
            "answerable": can_change and answerable,
            "steps": [
                (slug, label)
                for slug, label, _service in STEPS
                if can_change and dispute.can_move_to(STEP_TARGETS[slug])
            ],
            "can_appeal": can_change and dispute.can_move_to(S.APPEAL_OPEN),
            "evidence": dispute.evidence.select_related("added_by"),
            "events": dispute.events.select_related("actor_user"),
            "evidence_form": given.get("evidence") or EvidenceForm(),
            "answer_form": given.get("answer") or AnswerForm(initial={"response_text": dispute.response_text}),
            "note_form": given.get("note") or NoteForm(),
            "staged_at": (dispute.staged_packet or {}).get("staged_at"),
        }
        return TemplateResponse(request, "admin/returns/dispute/detail.html", context, status=status)

    def evidence_view(self, request, object_id):
        dispute = self._dispute(request, object_id, change=True)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:returns_dispute_change", args=[dispute.pk]))
        form = EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.dispute_evidence_add(dispute=dispute, actor=Actor.staff(request.user), **form.cleaned_data)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            except InvalidTransition as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, _("Evidence added."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:returns_dispute_change", args=[dispute.pk]))
        return self._detail(request, dispute, forms_given={"evidence": form}, status=400)

    def step_view(self, request, object_id, step):
        dispute = self._dispute(request, object_id, change=True)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:returns_dispute_change", args=[dispute.pk]))
        actor = Actor.staff(request.user)
        answer, note = AnswerForm(request.POST), NoteForm(request.POST)
        answer.is_valid(), note.is_valid()
        text = answer.cleaned_data.get("response_text")
        words = note.cleaned_data.get("note", "")
        try:
            if step == "stage":
                services.dispute_stage(dispute=dispute, actor=actor, response_text=text)
                done = _("Evidence staged: review the packet, then submit it.")
            elif step == "submit":
                services.dispute_submit(dispute=dispute, actor=actor, response_text=text)
                done = _("Submitted. The answer and its evidence are kept as they were sent.")
            elif step == "appeal":
                due = _in_shop_zone(note.cleaned_data.get("due_at"), dispute.shop)
                services.dispute_appeal(dispute=dispute, actor=actor, due_at=due, note=words)
                done = _("Appeal opened.")
            else:
                service = next((service for slug, _label, service in STEPS if slug == step), None)
                if service is None:
                    raise Http404("No such step.")
                service(dispute=dispute, actor=actor, note=words)
                done = _("Done: the dispute is %s now.") % Dispute.Status(STEP_TARGETS[step]).label.lower()
        except ValidationError as error:
            form = note if "due_at" in error.message_dict else answer
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
            return self._detail(request, dispute, forms_given={"answer": answer, "note": note}, status=400)
        except InvalidTransition as error:
            self.message_user(request, _("Refused: %s") % error, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:returns_dispute_change", args=[dispute.pk]))

    def evidence_file_view(self, request, object_id, evidence_id):
        dispute = self._dispute(request, object_id)
        evidence = get_object_or_404(DisputeEvidence, pk=evidence_id, dispute=dispute)
        if not evidence.file:
            raise Http404("No file.")
        name = Path(evidence.file.name).name
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        # Shown inline only when a browser cannot run it as a page.
        inline = content_type in {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"}
        response = FileResponse(evidence.file.open("rb"), content_type=content_type, as_attachment=not inline,
                                filename=name)  # fmt: skip
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox"
        return response

    # --- the printable packet --------------------------------------------------------------------------
    def _packet_html(self, request, dispute: Dispute, *, note: str = "") -> str:
        staged = bool(dispute.staged_packet) and (
            request.GET.get("version") == "staged" or bool(dispute.staged_packet.get("submitted_at"))
        ) and request.GET.get("version") != "live"  # fmt: skip
        raw = dispute.staged_packet if staged else packet_json(dispute_packet(dispute=dispute))
        zone = dispute.shop.time_zone or "UTC"
        with timezone.override(ZoneInfo(zone)):
            return render_to_string(
                "admin/returns/dispute_packet.html",
                {
                    "dispute": dispute,
                    "packet": packet_localized(raw, time_zone=zone),
                    "staged": staged,
                    "zone": zone,
                    "printed_at": timezone.localtime(timezone.now(), ZoneInfo(zone)),
                    "note": note,
                },
                request=request,
            )

    def packet_view(self, request, object_id):
        dispute = self._dispute(request, object_id)
        return HttpResponse(self._packet_html(request, dispute))

    def packet_pdf_view(self, request, object_id):
        dispute = self._dispute(request, object_id)
        pdf = dispute_pdf.pdf_from_html(self._packet_html(request, dispute))
        if pdf is None:
            note = _("A PDF could not be made on this server (Chromium is not installed or did not answer). Print "
                     "this page to PDF from your browser instead.")  # fmt: skip
            return HttpResponse(self._packet_html(request, dispute, note=note))
        response = HttpResponse(pdf, content_type="application/pdf")
        name = f"dispute-{dispute.provider}-{dispute.external_id or dispute.pk}.pdf".replace("/", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

"""The support queue in the admin: the screen agents live in.

The case list is the queue (five views as tabs with counts, filters by kind and priority, the most urgent
first, CSV export of the view); a case's page is its timeline (the conversation, what it gathers and every
step of its history, merged by time) with what an agent does: claim, assign, priority, a note, a reply with
a macro, the status. Every step calls a service; everything is scoped to the person's shops (another
shop's case is 404).
"""

import csv
import io

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchant.actors import Actor
from merchant.admin.tenancy import CHANGE, VIEW, Role, ShopScopedAdmin
from merchant.admin_site import AdminGroup, admin_group_register
from merchant.csv_cells import cell
from merchant.exceptions import InvalidTransition
from merchant.models import Merchant
from merchant.selectors import user_shop_roles
from returns.models import AgentPresence, Case, CaseItem
from returns.selectors.queue import (
    PAGE_SIZE,
    VIEW_SLUGS,
    VIEWS,
    case_kinds,
    due_words,
    queue_counts,
    queue_list,
    queue_page,
)
from returns.services.assignment import agent_presence_set, agents_of, case_assign, case_claim
from returns.services.case_messages import case_note_add, case_reply_send, macros_for_case
from returns.services.cases import case_priority_set, case_status_set

SUPPORT_WORK = {Role.OWNER: frozenset({VIEW, CHANGE}), Role.AGENT: frozenset({VIEW, CHANGE})}
KIND_BADGES = {
    CaseItem.Kind.RETURN_REQUEST: gettext_lazy("Return"),
    CaseItem.Kind.REFUND: gettext_lazy("Refund"),
    CaseItem.Kind.DISPUTE: gettext_lazy("Dispute"),
    CaseItem.Kind.REVIEW: gettext_lazy("Review"),
    CaseItem.Kind.CUSTOMER_MESSAGE: gettext_lazy("Message"),
    CaseItem.Kind.STATUS_CHECKS: gettext_lazy("Checking status"),
    CaseItem.Kind.OTHER: gettext_lazy("Other"),
}
# The status buttons of a case page: (status, label), shown when the case may move there.
STATUS_BUTTONS = (
    (Case.Status.OPEN, gettext_lazy("Open")),
    (Case.Status.WAITING_ON_CUSTOMER, gettext_lazy("Wait for the customer")),
    (Case.Status.RESOLVED, gettext_lazy("Resolve")),
)


# The history's steps in words (status moves show "from → to"); entries and items show as themselves.
EVENT_WORDS = {
    "created": gettext_lazy("opened the case"),
    "claimed": gettext_lazy("claimed the case"),
    "assigned": gettext_lazy("assigned the case"),
    "auto_assigned": gettext_lazy("assigned the case in turn"),
    "unassigned": gettext_lazy("unassigned the case"),
    "priority": gettext_lazy("changed the priority"),
    "survey_sent": gettext_lazy("asked the satisfaction question"),
    "survey_answered": gettext_lazy("answered the satisfaction question"),
}


def _shop_ids(request) -> list[int] | None:
    return None if request.user.is_superuser else list(user_shop_roles(request.user))


@admin.register(Case)
class CaseAdmin(ShopScopedAdmin):
    role_permissions = SUPPORT_WORK

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_view), name="returns_case_export"),
            path("presence/", wrap(self.presence_view), name="returns_case_presence"),
            path("<int:case_id>/act/", wrap(self.act_view), name="returns_case_act"),
            *super().get_urls(),
        ]

    # --- the queue ------------------------------------------------------------------------------------
    def _query(self, request) -> dict:
        view = request.GET.get("view", "")
        if view not in VIEW_SLUGS:
            view = "mine" if request.GET.get("view") is None and not request.user.is_superuser else "all"
        kind = request.GET.get("kind", "")
        kind = kind if kind in CaseItem.Kind.values else ""
        priority = request.GET.get("priority", "")
        priority = int(priority) if priority.isdigit() and int(priority) in Case.Priority.values else None
        status = "resolved" if request.GET.get("status") == "resolved" else ""
        return {"view": view, "kind": kind, "priority": priority, "status": status}

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        query = self._query(request)
        shop_ids = _shop_ids(request)
        counts = queue_counts(user=request.user, shop_ids=shop_ids, now=now)
        if request.GET.get("view") is None and counts["mine"] == 0:
            query["view"] = "all"  # nothing of mine: show the whole queue rather than an empty page
        try:
            page = max(1, int(request.GET.get("page", "1")))
        except ValueError:
            page = 1
        cases = queue_page(
            queue_list(user=request.user, shop_ids=shop_ids, now=now, **query),
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        has_next = len(cases) > PAGE_SIZE
        cases = cases[:PAGE_SIZE]
        kinds = case_kinds([case.pk for case in cases])
        rows = []
        for case in cases:
            words, css = due_words(case.due_at, now=now)
            gathered = list(kinds[case.pk])
            if case.last_customer_message_at and CaseItem.Kind.CUSTOMER_MESSAGE not in gathered:
                gathered.append(CaseItem.Kind.CUSTOMER_MESSAGE)  # messages kept as entries, without an item
            rows.append(
                {
                    "case": case,
                    "badges": [(kind, KIND_BADGES[kind]) for kind in gathered if kind in KIND_BADGES],
                    "due_words": words,
                    "due_class": css,
                }
            )

        def link(**changes) -> str:
            params = {**query, **changes}
            return "?" + urlencode({key: value for key, value in params.items() if value})

        tabs = [
            {"slug": view.slug, "label": view.label, "count": counts[view.slug], "url": link(view=view.slug, page="")}
            for view in VIEWS
        ]
        memberships = user_shop_roles(request.user)
        presences = {
            presence.shop_id: presence.is_available
            for presence in AgentPresence.objects.filter(user=request.user, shop_id__in=list(memberships))
        }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Support queue"),
            "tabs": tabs,
            "query": query,
            "rows": rows,
            "page": page,
            "previous_url": link(page=page - 1) if page > 1 else "",
            "next_url": link(page=page + 1) if has_next else "",
            "export_url": reverse("admin:returns_case_export") + link(),
            "kinds": [(kind, KIND_BADGES[kind]) for kind in CaseItem.Kind.values],
            "priorities": Case.Priority.choices,
            "many_shops": shop_ids is None or len(shop_ids) > 1,
            "presence_shops": [
                {"shop": shop, "available": presences.get(shop.pk, False)}
                for shop in Merchant.objects.filter(pk__in=list(memberships)).order_by("name")
            ],
            "now": now,
        }
        return TemplateResponse(request, "admin/returns/case/queue.html", context)

    def export_view(self, request):
        """The current view (every page of it, the same filters) as a CSV file, only of the person's shops."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        cases = queue_list(user=request.user, shop_ids=_shop_ids(request), now=timezone.now(), **self._query(request))
        response = StreamingHttpResponse(_csv_lines(cases), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="support-queue-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response

    def presence_view(self, request):
        """“I'm available” for new cases of a shop (round robin), from the queue page; POST only."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        shop_id = request.POST.get("shop", "")
        if not (shop_id.isdigit() and int(shop_id) in user_shop_roles(request.user)):
            raise PermissionDenied
        available = request.POST.get("available") == "1"
        agent_presence_set(
            shop=Merchant.objects.get(pk=int(shop_id)),
            user=request.user,
            is_available=available,
            actor=Actor.staff(request.user),
        )
        self.message_user(
            request,
            _("You take new cases now.") if available else _("You take no new cases for now."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(request.POST.get("next") or reverse("admin:returns_case_changelist"))

    # --- a case ---------------------------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        return self._case_page(request, case)

    def _case_page(self, request, case: Case, *, errors: dict | None = None, values: dict | None = None, status=200):
        case = (
            Case.objects.select_related("shop", "order", "customer", "assignee")
            .prefetch_related("items")
            .get(pk=case.pk)
        )
        now = timezone.now()
        timeline = [
            {"at": entry.at, "kind": entry.kind, "entry": entry}
            for entry in case.entries.select_related("author", "message")
        ]
        timeline += [{"at": item.created_at, "kind": "item", "item": item} for item in case.items.all()]
        timeline += [
            {"at": event.at, "kind": "event", "event": event}
            for event in case.events.exclude(action__in=["note", "replied", "item_added"])
        ]
        for row in timeline:
            if row["kind"] == "event":
                event = row["event"]
                row["words"] = EVENT_WORDS.get(event.action, event.action)
                if event.action in ("assigned", "auto_assigned", "claimed") and event.details.get("to"):
                    row["words"] = f"{row['words']} → {event.details['to']}"
        timeline.sort(key=lambda row: row["at"])
        words, css = due_words(case.due_at, now=now)
        can_change = self.has_change_permission(request, case)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(case),
            "case": case,
            "timeline": timeline,
            "due_words": words,
            "due_class": css,
            "can_change": can_change,
            "agents": agents_of([case.shop_id]) if can_change else [],
            "priorities": Case.Priority.choices,
            "status_buttons": [(to, label) for to, label in STATUS_BUTTONS if case.can_move_to(to)],
            "macros": macros_for_case(case=case, agent=request.user) if can_change else [],
            "errors": errors or {},
            "values": values or {},
            "act_url": reverse("admin:returns_case_act", args=[case.pk]),
            "badges": sorted({KIND_BADGES[item.kind] for item in case.items.all() if item.kind in KIND_BADGES}),
        }
        return TemplateResponse(request, "admin/returns/case/case.html", context, status=status)

    def act_view(self, request, case_id: int):
        """One step on a case (claim, assign, priority, note, reply, status), POST only, then back to the case."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = get_object_or_404(self.get_queryset(request), pk=case_id)
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        actor = Actor.staff(request.user)
        action = request.POST.get("action", "")
        data = request.POST
        try:
            if action == "claim":
                case_claim(case=case, actor=actor)
                done = _("You have this case now.")
            elif action == "assign":
                user_id = data.get("assignee", "")
                assignee = agents_of([case.shop_id]).filter(pk=user_id).first() if user_id.isdigit() else None
                if user_id and assignee is None:
                    raise ValidationError({"assignee": _("Choose a person of this shop.")})
                case_assign(case=case, assignee=assignee, actor=actor)
                done = _("Assigned to %s.") % assignee if assignee else _("Nobody has this case now.")
            elif action == "priority":
                value = data.get("priority", "")
                case_priority_set(case=case, priority=int(value) if value.isdigit() else -1, actor=actor)
                done = _("Priority changed.")
            elif action == "note":
                case_note_add(case=case, actor=actor, body=data.get("body", ""))
                done = _("Note added.")
            elif action == "reply":
                then = data.get("then", "")
                then = then if then in (Case.Status.WAITING_ON_CUSTOMER, Case.Status.RESOLVED) else ""
                case_reply_send(case=case, actor=actor, body=data.get("body", ""), then_status=then)
                done = _("Reply sent to the customer.")
            elif action == "status":
                case_status_set(case=case, to=data.get("to", ""), actor=actor)
                done = _("Status changed.")
            else:
                raise ValidationError({"action": _("Unknown step.")})
        except InvalidTransition as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:returns_case_change", args=[case.pk]))
        except (ValidationError, KeyError) as error:
            errors = error.message_dict if isinstance(error, ValidationError) and hasattr(error, "error_dict") else {}
            errors = {f"{action}_{field}": words for field, words in errors.items()} or {f"{action}_body": [str(error)]}
            return self._case_page(request, case, errors=errors, values={action: data.get("body", "")}, status=400)
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:returns_case_change", args=[case.pk]))


def _csv_lines(cases):
    """The rows of an export, written and sent a chunk at a time (the badges of each chunk in one query)."""
    header = ["shop", "case", "order", "customer", "status", "priority", "assignee", "due_at", "gathers", "created_at"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    chunk: list[Case] = []

    def flush():
        kinds = case_kinds([case.pk for case in chunk])
        for case in chunk:
            # Names and order numbers come from customers and platforms: never a formula in a spreadsheet.
            writer.writerow(
                cell(value)
                for value in (
                    case.shop.slug,
                    case.number,
                    case.order.number if case.order_id else "",
                    str(case.customer) if case.customer_id else "",
                    case.status,
                    Case.Priority(case.priority).label,
                    case.assignee.get_username() if case.assignee_id else "",
                    case.due_at,
                    " ".join(kinds[case.pk]),
                    case.created_at,
                )
            )
        chunk.clear()

    yield buffer.getvalue()
    for case in cases.iterator(chunk_size=1000):
        chunk.append(case)
        if len(chunk) == 1000:
            buffer.seek(0)
            buffer.truncate()
            flush()
            yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    flush()
    yield buffer.getvalue()


admin_group_register(
    AdminGroup(
        label="support",
        name=gettext_lazy("Support"),
        models=(
            "returns.case",
            "returns.returnrequest",
            "returns.refund",
            "returns.dispute",
            "returns.macro",
            "returns.agentpresence",
            "returns.supportsettings",
            "returns.faqentry",
            "returns.emailinbox",
            "returns.returnpolicy",
        ),
        names={"returns.case": gettext_lazy("Support queue")},
    )
)

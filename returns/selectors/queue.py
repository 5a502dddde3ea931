"""The support queue's views: Mine, Unassigned, Due soon, Overdue, All (every open case), for one person.

Each view is a queryset of the person's shops, the most urgent first: by `due_at` (so whatever is overdue
comes first), then priority, then the oldest case. The counts of all five come from one aggregate query,
and a page of rows with what each gathers from two more: three queries whatever the number of cases.
`due_at` is stored (returns.services.sla), so nothing here computes business time.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from returns.models import Case, CaseItem

DUE_SOON = dt.timedelta(hours=4)
PAGE_SIZE = 50


@dataclass(frozen=True)
class View:
    slug: str
    label: str


VIEWS = (
    View("mine", gettext_lazy("Mine")),
    View("unassigned", gettext_lazy("Unassigned")),
    View("due_soon", gettext_lazy("Due soon")),
    View("overdue", gettext_lazy("Overdue")),
    View("all", gettext_lazy("All")),
)
VIEW_SLUGS = frozenset(view.slug for view in VIEWS)


def _view_filter(view: str, *, user, now: dt.datetime) -> Q:
    if view == "mine":
        return Q(assignee_id=user.pk)
    if view == "unassigned":
        return Q(assignee__isnull=True)
    if view == "due_soon":
        return Q(due_at__gte=now, due_at__lt=now + DUE_SOON)
    if view == "overdue":
        return Q(due_at__lt=now)
    return Q()


def cases_of_shops(shop_ids: list[int] | None) -> QuerySet[Case]:
    """Cases of these shops (None: every shop, for superusers)."""
    cases = Case.objects.all()
    return cases if shop_ids is None else cases.filter(shop_id__in=shop_ids)


def queue_list(
    *,
    view: str,
    user,
    shop_ids: list[int] | None,
    now: dt.datetime,
    kind: str = "",
    priority: int | None = None,
    status: str = "",
) -> QuerySet[Case]:
    """The cases of one view, most urgent first. `status` "resolved" lists resolved cases instead of open ones."""
    if view not in VIEW_SLUGS:
        raise ValueError(f"Unknown view {view!r}.")
    cases = cases_of_shops(shop_ids).filter(status=status) if status else cases_of_shops(shop_ids)
    if not status:
        cases = cases.filter(status__in=Case.ACTIVE)
    cases = cases.filter(_view_filter(view, user=user, now=now))
    if kind:
        cases = cases.filter(pk__in=CaseItem.objects.filter(kind=kind).values("case_id"))
    if priority:
        cases = cases.filter(priority=priority)
    return cases.select_related("order", "customer", "assignee", "shop").order_by(
        F("due_at").asc(nulls_last=True), "-priority", "id"
    )


def queue_page(cases: QuerySet[Case], *, offset: int, limit: int) -> list[Case]:
    """One page of a view's cases (`limit` + 1 rows to tell whether there is a next page), in two queries: the
    ids in order from the cases table alone (index-only: no join is carried through the sort of a big queue),
    then those rows with their order, customer, assignee and shop."""
    ids = list(cases.select_related(None).values_list("id", flat=True)[offset : offset + limit + 1])
    found = cases.model.objects.select_related("order", "customer", "assignee", "shop").in_bulk(ids)
    return [found[case_id] for case_id in ids if case_id in found]


def queue_counts(*, user, shop_ids: list[int] | None, now: dt.datetime) -> dict[str, int]:
    """How many open cases each view holds, in one query."""
    active = cases_of_shops(shop_ids).filter(status__in=Case.ACTIVE)
    return active.aggregate(
        **{
            view.slug: Count("id", filter=_view_filter(view.slug, user=user, now=now)) if view.slug != "all"
            else Count("id")
            for view in VIEWS
        }
    )  # fmt: skip


def case_kinds(case_ids: list[int]) -> dict[int, list[str]]:
    """{case id: the kinds of items it gathers}, in one query, for the badges of a page of rows."""
    kinds: dict[int, list[str]] = {case_id: [] for case_id in case_ids}
    rows = CaseItem.objects.filter(case_id__in=case_ids).order_by().values_list("case_id", "kind").distinct()
    for case_id, kind in rows:
        kinds[case_id].append(kind)
    for found in kinds.values():
        found.sort()
    return kinds


def due_words(due_at: dt.datetime | None, *, now: dt.datetime) -> tuple[str, str]:
    """("overdue 3 h" / "due in 2 h" / "due in 2 d", css class) for a due time; ("", "") when nothing is due."""
    if due_at is None:
        return "", ""
    seconds = (due_at - now).total_seconds()
    late = seconds < 0
    span = abs(seconds)
    if span < 3600:
        amount = _("%d min") % max(1, int(span // 60))
    elif span < 48 * 3600:
        amount = _("%d h") % int(span // 3600)
    else:
        amount = _("%d d") % int(span // 86400)
    if late:
        return _("overdue %s") % amount, "overdue"
    return _("due in %s") % amount, "soon" if seconds < DUE_SOON.total_seconds() else ""

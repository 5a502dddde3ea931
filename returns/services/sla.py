"""SLA clocks of support cases, counted in the shop's business hours (returns.business_hours).

Two clocks start when a case is made: the first response (stopped by the first reply to the customer)
and the resolution (stopped by resolving; paused while the case waits for the customer: on resuming,
its deadline moves on by the business time spent waiting). A linked dispute's deadline is a third,
set by the provider and never paused. `Case.due_at` is the soonest of the clocks still running: what the
queue's *Due soon* and *Overdue* views filter by and what it sorts by, so the queue never computes
business time while listing.
"""

import datetime as dt

from returns.business_hours import BusinessCalendar, business_calendar_for
from returns.models import Case, CaseItem, SupportSettings
from returns.selectors.disputes import disputes_awaiting_answer


def support_settings_for(shop) -> SupportSettings:
    """The shop's support settings, made with the defaults the first time they are needed."""
    found = getattr(shop, "_support_settings_cache", None)
    if found is None:
        found, _created = SupportSettings.objects.get_or_create(shop=shop)
        shop._support_settings_cache = found
    return found


def calendar_for(shop) -> BusinessCalendar:
    return business_calendar_for(shop, support_settings_for(shop))


def sla_start(case: Case, *, now: dt.datetime) -> None:
    """Set the first-response and resolution deadlines of a new `case` (not saved)."""
    settings = support_settings_for(case.shop)
    calendar = business_calendar_for(case.shop, settings)
    case.first_response_due_at = calendar.add(now, dt.timedelta(hours=settings.first_response_hours))
    case.resolution_due_at = calendar.add(now, dt.timedelta(hours=settings.resolution_hours))


def sla_pause(case: Case, *, now: dt.datetime) -> dict:
    """The fields that stop the resolution clock while the case waits for the customer."""
    return {"waiting_since": case.waiting_since or now}


def sla_resume(case: Case, *, now: dt.datetime) -> tuple[dict, dt.timedelta]:
    """The fields that restart the resolution clock, moved on by the business time spent waiting, and that time."""
    if case.waiting_since is None or case.resolution_due_at is None:
        return {"waiting_since": None}, dt.timedelta(0)
    calendar = calendar_for(case.shop)
    waited = calendar.between(case.waiting_since, now)
    return {"waiting_since": None, "resolution_due_at": calendar.add(case.resolution_due_at, waited)}, waited


def dispute_due_times(case: Case) -> list[dt.datetime]:
    """The deadlines of the case's disputes still waiting for the shop's answer."""
    return list(
        disputes_awaiting_answer()
        .filter(pk__in=CaseItem.objects.filter(case=case, dispute__isnull=False).values("dispute_id"))
        .values_list("due_at", flat=True)
    )


def item_due_times(case: Case) -> list[dt.datetime]:
    """The answer-by times of the case's other items not yet met by a reply (an unhappy review's)."""
    return list(
        CaseItem.objects.filter(case=case, dispute__isnull=True, due_at__isnull=False).values_list("due_at", flat=True)
    )


def due_at_of(case: Case, *, dispute_due: list[dt.datetime], item_due: list[dt.datetime] = ()) -> dt.datetime | None:
    """The soonest deadline still running on `case` (None when nothing is due: resolved, or waiting and no dispute).

    A dispute's deadline runs whatever the case's status, waiting included: the provider waits for nobody."""
    if case.status not in Case.ACTIVE:
        return None  # a resolved case is done; anything new (a dispute, a message) opens it again
    candidates = list(dispute_due)
    if case.status != Case.Status.WAITING_ON_CUSTOMER:
        candidates.extend(item_due)
        if case.first_responded_at is None and case.first_response_due_at:
            candidates.append(case.first_response_due_at)
        if case.resolution_due_at:
            candidates.append(case.resolution_due_at)
    return min(candidates) if candidates else None


def case_due_refresh(*, case: Case) -> Case:
    """Recompute and store `case.due_at` from its clocks, its items and its disputes' deadlines. Returns the case.

    Disputes call it (through `case_item_attach`, or directly) when a dispute's due time or status changes."""
    due = due_at_of(case, dispute_due=dispute_due_times(case), item_due=item_due_times(case))
    if due != case.due_at:
        case.due_at = due
        Case.objects.filter(pk=case.pk).update(due_at=due)
    return case

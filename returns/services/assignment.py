"""Who works a case: claiming, assigning, and handing new cases round robin to the agents who are available.

Round robin: among the shop's agents marked available (`AgentPresence.is_available`) who still have room
(fewer active cases than their `max_active_cases`), the one whose last case came longest ago (never
first). The presence rows are locked while choosing, so two cases made at the same moment go to two
agents in turn, not both to the same one; on SQLite the database takes one writer at a time anyway.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import Membership, Merchant
from returns.models import AgentPresence, Case
from returns.transitions import audit_record, status_move

User = get_user_model()


def _is_member(user, shop_id: int) -> bool:
    return user.is_active and Membership.objects.filter(user=user, shop_id=shop_id).exists()


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("shop", "assignee").get(pk=case.pk)


def _assign(case: Case, user, *, actor: Actor, action: str, now: dt.datetime, note: str = "") -> Case:
    before = case.assignee
    case.assignee = user
    case.assigned_at = now if user is not None else None
    changes = {"assignee", "assigned_at", "updated_at"}
    if user is not None and case.status == Case.Status.NEW:
        # Someone has the case: it is no longer new (the status history keeps the move).
        status_move(case, to=Case.Status.OPEN, actor=actor, note=_("Assigned."), now=now)
    case.save(update_fields=changes)
    audit_record(
        case,
        action=action,
        actor=actor,
        note=note,
        details={
            "from": before.get_username() if before else None,
            "to": user.get_username() if user else None,
        },
        at=now,
    )
    return case


@transaction.atomic
def case_claim(*, case: Case, actor: Actor, now: dt.datetime | None = None) -> Case:
    """The acting person takes `case`. Refused (ValidationError on `assignee`) when they are not in its shop,
    or when someone else has it already (to take it from them, assign it)."""
    now = now or timezone.now()
    case = _locked(case)
    user = actor.user
    if user is None or not _is_member(user, case.shop_id):
        raise ValidationError({"assignee": _("Only people of this shop can take its cases.")})
    if case.assignee_id == user.pk:
        return case
    if case.assignee_id is not None:
        raise ValidationError(
            {"assignee": _("%(name)s has this case already; assign it to take it over.") % {"name": case.assignee}}
        )
    return _assign(case, user, actor=actor, action="claimed", now=now)


@transaction.atomic
def case_assign(*, case: Case, assignee, actor: Actor, now: dt.datetime | None = None) -> Case:
    """Give `case` to `assignee` (None: nobody), who must be a member of the case's shop."""
    now = now or timezone.now()
    case = _locked(case)
    if assignee is not None and not _is_member(assignee, case.shop_id):
        raise ValidationError({"assignee": _("%(name)s is not a member of this shop.") % {"name": assignee}})
    if case.assignee_id == (assignee.pk if assignee else None):
        return case
    return _assign(case, assignee, actor=actor, action="assigned" if assignee else "unassigned", now=now)


def case_unassign(*, case: Case, actor: Actor, now: dt.datetime | None = None) -> Case:
    """Nobody has `case` any more: it goes back to *Unassigned*."""
    return case_assign(case=case, assignee=None, actor=actor, now=now)


def agent_next(*, shop: Merchant, now: dt.datetime) -> AgentPresence | None:
    """The available agent of `shop` next in turn, with their presence row locked; None when nobody has room.

    Call inside a transaction: the lock keeps a concurrent choice waiting until this one is stored."""
    active = (
        Case.objects.filter(shop=shop, assignee=OuterRef("user_id"), status__in=Case.ACTIVE)
        .order_by()
        .values("assignee")
        .annotate(n=Count("id"))
        .values("n")
    )
    # Lock every available presence row of the shop (in id order, so two choosers never deadlock), then choose.
    candidates = list(
        AgentPresence.objects.select_for_update(of=("self",))
        .filter(shop=shop, is_available=True, user__is_active=True, user__memberships__shop=shop)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not candidates:
        return None
    return (
        AgentPresence.objects.filter(pk__in=candidates)
        .annotate(active_cases=Coalesce(Subquery(active), Value(0)))
        .filter(active_cases__lt=F("max_active_cases"))
        .order_by(Coalesce("last_assigned_at", Value(dt.datetime(1970, 1, 1, tzinfo=dt.UTC))), "id")
        .select_related("user")
        .first()
    )


@transaction.atomic
def case_auto_assign(*, case: Case, actor: Actor, now: dt.datetime | None = None) -> Case:
    """Hand an unassigned `case` to the next available agent (round robin). Unchanged when nobody has room."""
    now = now or timezone.now()
    case = _locked(case)
    if case.assignee_id is not None or case.status not in Case.ACTIVE:
        return case
    presence = agent_next(shop=case.shop, now=now)
    if presence is None:
        return case
    AgentPresence.objects.filter(pk=presence.pk).update(last_assigned_at=now, updated_at=now)
    return _assign(case, presence.user, actor=actor, action="auto_assigned", now=now, note=_("Round robin."))


@transaction.atomic
def agent_presence_set(
    *, shop: Merchant, user, is_available: bool, actor: Actor, max_active_cases: int | None = None
) -> AgentPresence:
    """Mark `user` available (or not) for new cases of `shop`. Only a member of the shop, and only for themselves
    unless the actor is an owner of the shop."""
    if not _is_member(user, shop.pk):
        raise ValidationError({"user": _("%(name)s is not a member of this shop.") % {"name": user}})
    acting = actor.user
    others = acting is not None and acting.pk != user.pk and not acting.is_superuser
    if others and not Membership.objects.filter(user=acting, shop=shop, role=Membership.Role.OWNER).exists():
        raise ValidationError({"user": _("Only the shop's owners can change someone else's availability.")})
    presence, _created = AgentPresence.objects.select_for_update(of=("self",)).get_or_create(shop=shop, user=user)
    presence.is_available = is_available
    fields = ["is_available", "updated_at"]
    if max_active_cases is not None:
        if max_active_cases < 1:
            raise ValidationError({"max_active_cases": _("Give at least 1.")})
        presence.max_active_cases = max_active_cases
        fields.append("max_active_cases")
    presence.save(update_fields=fields)
    return presence


def agents_of(shop_ids: list[int]):
    """The people who may be given cases of these shops, for pickers."""
    return User.objects.filter(is_active=True, memberships__shop_id__in=shop_ids).distinct().order_by("username")

"""The one way a returns aggregate changes status, and the audit row every change leaves.

ReturnRequest, Refund, Dispute and Case declare `TRANSITIONS` (and optionally `STATUS_TIMESTAMP`)
as data. Their services lock the row (order before its children), then call `status_move`, which
checks the table, sets the status and its timestamp, saves only those fields and writes the
audit row naming the actor. A move the table does not allow raises `InvalidTransition` and
changes nothing.
"""

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.exceptions import InvalidTransition


def _event_of(obj: models.Model) -> tuple[type[models.Model], str]:
    """The audit model of `obj` and the name of its foreign key to `obj` (e.g. ReturnEvent, "return_request")."""
    for relation in obj._meta.related_objects:
        if relation.related_name == "events":
            return relation.related_model, relation.field.name
    raise TypeError(f"{type(obj).__name__} keeps no audit events.")


def audit_record(
    obj: models.Model,
    *,
    action: str,
    actor: Actor,
    note: str = "",
    details: dict[str, Any] | None = None,
    from_status: str = "",
    to_status: str = "",
    at: dt.datetime | None = None,
) -> models.Model:
    """Append one row to `obj`'s history (a step that is not a status move: assigned, evidence added, ...)."""
    event_model, field_name = _event_of(obj)
    return event_model.objects.create(
        **{field_name: obj},
        action=action[:30],
        from_status=from_status,
        to_status=to_status,
        actor_kind=actor.kind,
        actor_label=actor.label[:200],
        actor_user=actor.user if actor.is_person else None,
        note=note,
        details=details or {},
        at=at or timezone.now(),
    )


def status_move(
    obj: models.Model,
    *,
    to: str,
    actor: Actor,
    note: str = "",
    details: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> models.Model:
    """Move a locked `obj` to `to` along its TRANSITIONS, setting `fields` with it, and audit the move.

    Raises InvalidTransition (nothing changed) when the table does not allow it. Returns the audit row.
    """
    now = now or timezone.now()
    current = obj.status
    if to not in obj.TRANSITIONS[current]:
        labels = dict(type(obj).Status.choices)
        raise InvalidTransition(
            _("%(thing)s %(name)s is %(current)s and cannot become %(to)s.")
            % {
                "thing": type(obj)._meta.verbose_name.capitalize(),
                "name": obj,
                "current": str(labels.get(current, current)).lower(),
                "to": str(labels.get(to, to)).lower(),
            }
        )
    changes: dict[str, Any] = {"status": to, "status_changed_at": now, **(fields or {})}
    stamp = getattr(obj, "STATUS_TIMESTAMP", {}).get(to)
    if stamp and stamp not in changes:
        changes[stamp] = now
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save(update_fields=[*changes, "updated_at"])
    return audit_record(
        obj, action=to, actor=actor, note=note, details=details, from_status=current, to_status=to, at=now
    )

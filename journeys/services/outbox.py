"""Changes a person makes to the outbox by hand. The planner and dispatcher have their own paths."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import Message
from journeys.triggers import trigger_get
from merchant.exceptions import InvalidTransition

Status = Message.Status


@transaction.atomic
def message_cancel(*, message: Message, actor_label: str) -> Message:
    """Cancel a scheduled message so it is never sent, and say who did it in its explanation.

    Guarantees: the row is locked first, so a dispatcher cannot claim it meanwhile; only a
    scheduled message is cancelled (one being sent or already sent raises `InvalidTransition`
    and nothing changes).
    """
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.status != Status.SCHEDULED or Status.CANCELLED not in Message.TRANSITIONS[locked.status]:
        spec = trigger_get(locked.trigger)
        raise InvalidTransition(
            _("The “%(trigger)s” message to %(to)s is %(status)s and cannot be cancelled: only scheduled ones can.")
            % {
                "trigger": spec.label if spec else locked.trigger,
                "to": locked.address or locked.customer or _("nobody yet"),
                "status": locked.get_status_display().lower(),
            }
        )
    now = timezone.now()
    locked.status = Status.CANCELLED
    locked.reason = ""
    locked.finished_at = now
    locked.explanation = " ".join(part for part in (locked.explanation, _("Cancelled by %s.") % actor_label) if part)
    locked.save(update_fields=["status", "reason", "finished_at", "explanation", "updated_at"])
    message.__dict__.update(
        {name: getattr(locked, name) for name in ("status", "reason", "finished_at", "explanation")}
    )
    return locked

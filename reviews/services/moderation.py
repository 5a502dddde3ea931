"""What staff do with reviews: publish, hide with a reason the law allows, reply. Never change stars or words.

US FTC rule 16 CFR 465.7: a review may be kept from the public only for reasons such as personal
data, abuse, defamation, discrimination, trade secrets, being fake, clearly false or wholly
unrelated (`Review.HideReason`); being negative is not one. Every change is written to the
review's history with the person who made it.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from reviews.models import Review, ReviewEvent
from reviews.screening import names_sentiment

Status = Review.Status
Action = ReviewEvent.Action
REPLY_MAX_LENGTH = 5000


def review_event_write(
    *, review: Review, action: str, actor: Actor, from_status: str = "", to_status: str = "", note: str = ""
) -> ReviewEvent:
    return ReviewEvent.objects.create(
        review=review,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_kind=actor.kind,
        actor_label=actor.label[:200],
        actor_user=actor.user,
        note=note,
    )


def _review_transition(
    review: Review, *, to: str, action: str, actor: Actor, note: str = "", changes: dict | None = None
) -> Review:
    """Lock the review, check `Review.TRANSITIONS`, set the status and its time, record who and why."""
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if to not in Review.TRANSITIONS[locked.status]:
        raise InvalidTransition(
            _("The review is %(status)s and cannot be %(to)s.")
            % {"status": locked.get_status_display().lower(), "to": Status(to).label.lower()}
        )
    now = timezone.now()
    before = locked.status
    locked.status = to
    fields = ["status", "updated_at"]
    if to == Status.PUBLISHED:
        locked.published_at = now
        fields.append("published_at")
    if to == Status.HIDDEN:
        locked.hidden_at = now
        fields.append("hidden_at")
    for name, value in (changes or {}).items():
        setattr(locked, name, value)
        fields.append(name)
    locked.save(update_fields=fields)
    review_event_write(review=locked, action=action, from_status=before, to_status=to, actor=actor, note=note)
    review.__dict__.update({name: getattr(locked, name) for name in ("status", *fields) if name != "updated_at"})
    return locked


@transaction.atomic
def review_publish(*, review: Review, actor: Actor, note: str = "") -> Review:
    """Publish a review waiting for a person, or one hidden before. The stars and words stay as written."""
    return _review_transition(review, to=Status.PUBLISHED, action=Action.PUBLISHED, actor=actor, note=note)


def hide_reason_check(*, reason: str, note: str) -> None:
    """Raise ValidationError naming the field unless `reason` is allowed and `note` is not about sentiment."""
    if reason.strip().casefold() in {"negative", "negative review", "bad review", "low rating"}:
        raise ValidationError(
            {"reason": _("Being negative is not a reason to hide a review (US FTC rule 16 CFR 465.7).")}
        )
    if reason not in Review.HideReason.values:
        raise ValidationError({"reason": _("Choose one of the listed reasons.")})
    if names_sentiment(note):
        raise ValidationError(
            {
                "note": _(
                    "The note speaks of the review's sentiment. A review is never hidden for being negative; "
                    "say what in it breaks the rules."
                )
            }
        )
    if not note.strip():
        raise ValidationError({"note": _("Say what in the review breaks the rules; it is kept with the review.")})


@transaction.atomic
def review_hide(*, review: Review, actor: Actor, reason: str, note: str) -> Review:
    """Hide a review from the public for an allowed reason, recorded with the person and their note.

    Refused (ValidationError naming the field, nothing changes): no reason, a reason not in
    `Review.HideReason` (such as "negative"), or a note about the review's sentiment.
    """
    hide_reason_check(reason=reason, note=note)
    return _review_transition(
        review,
        to=Status.HIDDEN,
        action=Action.HIDDEN,
        actor=actor,
        note=f"{Review.HideReason(reason).label}: {note.strip()}",
        changes={"hidden_reason": reason, "hidden_note": note.strip(), "hidden_by": actor.user},
    )


@transaction.atomic
def review_reply(*, review: Review, actor: Actor, text: str, now: dt.datetime | None = None) -> Review:
    """Set (or, with empty text, remove) the shop's public reply to a review. The review itself is unchanged."""
    text = text.strip()
    if len(text) > REPLY_MAX_LENGTH:
        raise ValidationError({"reply_text": _("Keep the reply under %d characters.") % REPLY_MAX_LENGTH})
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if text == locked.reply_text:
        return locked
    locked.reply_text = text
    locked.replied_at = (now or timezone.now()) if text else None
    locked.replied_by = actor.user if text else None
    locked.save(update_fields=["reply_text", "replied_at", "replied_by", "updated_at"])
    review_event_write(
        review=locked,
        action=Action.REPLIED,
        from_status=locked.status,
        to_status=locked.status,
        actor=actor,
        note=text or _("Reply removed."),
    )
    review.__dict__.update(reply_text=locked.reply_text, replied_at=locked.replied_at)
    return locked

"""The one-question satisfaction survey after a case is resolved: asked once per case, answered once.

Resolving a case plans a `satisfaction_survey` message (an hour later, journeys' rule) when the shop's
support settings ask for it and the case has a customer; the message carries a signed link to `/s/<token>`.
The customer answers 1 to 5 with an optional comment; the answer is kept on the case and in its history.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.services.external import message_plan
from merchant.actors import Actor
from returns.links.survey import SURVEY_TRIGGER, survey_step
from returns.models import Case
from returns.services.sla import support_settings_for
from returns.transitions import audit_record
from returns.triggers.cases import case_rules_ensure

COMMENT_MAX_LENGTH = 1000


def satisfaction_survey_request(*, case: Case, actor: Actor, now: dt.datetime) -> bool:
    """Plan the survey of a locked, just resolved `case` when the shop asks for surveys, once per case.
    Returns whether a message was planned. Call inside the resolving transaction."""
    if case.customer_id is None or case.satisfaction_requested_at is not None:
        return False
    if not support_settings_for(case.shop).satisfaction_survey_enabled:
        return False
    case_rules_ensure(case.shop)
    messages = message_plan(
        trigger=SURVEY_TRIGGER,
        shop=case.shop,
        customer=case.customer,
        order=case.order,
        anchor_at=now,
        step=survey_step(case.pk),
        now=now,
    )
    if not messages:
        return False
    case.satisfaction_requested_at = now
    Case.objects.filter(pk=case.pk).update(satisfaction_requested_at=now)
    audit_record(case, action="survey_sent", actor=actor, details={"message": messages[0].pk}, at=now)
    return True


@transaction.atomic
def satisfaction_answer(
    *, case: Case, score: int, comment: str = "", actor: Actor, now: dt.datetime | None = None
) -> Case:
    """Keep the customer's answer (1–5, optional comment) on `case`. Answered once: a second answer is refused
    with a ValidationError on `score`, and so is a score outside 1–5 or a comment too long; nothing changes."""
    now = now or timezone.now()
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": _("Choose from 1 to 5.")})
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {"comment": _("Keep it under %(max)d characters (it has %(count)d).")
             % {"max": COMMENT_MAX_LENGTH, "count": len(comment)}}
        )  # fmt: skip
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if case.satisfaction_answered_at is not None:
        raise ValidationError({"score": _("You have already answered. Thank you!")})
    case.satisfaction_score = score
    case.satisfaction_comment = comment
    case.satisfaction_answered_at = now
    case.save(update_fields=["satisfaction_score", "satisfaction_comment", "satisfaction_answered_at", "updated_at"])
    audit_record(case, action="survey_answered", actor=actor, note=comment, details={"score": score}, at=now)
    return case

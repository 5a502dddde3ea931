"""The conversation on a case: internal notes, replies to the customer (sent through journeys), macros.

A note stays inside the team. A reply is planned as a `case_reply` message of the shop's rule (channel,
fallback, the shop's copy around the words in the customer's language, opt-outs honoured) inside the same
transaction as the entry that keeps the words, so there is never a reply without its message or the
other way round. The first reply stops the first-response clock and meets the answer-by time of the
items gathered so far (an unhappy review); a dispute's deadline is met only in the dispute itself.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template import Context, Engine, TemplateSyntaxError
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import Message
from journeys.services.external import message_plan, trigger_has_active_rule
from merchant.actors import Actor
from returns.models import Case, CaseEntry, CaseItem, Macro
from returns.services.cases import case_move, case_status_set
from returns.services.sla import case_due_refresh
from returns.transitions import audit_record
from returns.triggers.cases import REPLY_MAX_LENGTH, REPLY_TRIGGER, case_rules_ensure, reply_step

NOTE_MAX_LENGTH = 5000
# Macros see only these names: a typo shows as an error on save, never as a blank in a customer's message.
_ENGINE = Engine(autoescape=False, string_if_invalid="")


def _text(value: str, *, field: str, max_length: int, empty: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: empty})
    if len(value) > max_length:
        raise ValidationError(
            {
                field: _("Keep it under %(max)d characters (it has %(count)d).")
                % {"max": max_length, "count": len(value)}
            }
        )
    return value


@transaction.atomic
def case_note_add(*, case: Case, actor: Actor, body: str, now: dt.datetime | None = None) -> CaseEntry:
    """An internal note on `case`, for the team only: never sent, and it stops no clock."""
    now = now or timezone.now()
    body = _text(body, field="body", max_length=NOTE_MAX_LENGTH, empty=_("Write the note."))
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    entry = CaseEntry.objects.create(case=case, kind=CaseEntry.Kind.NOTE, body=body, author=actor.user, at=now)
    audit_record(case, action="note", actor=actor, details={"entry": entry.pk}, at=now)
    Case.objects.filter(pk=case.pk).update(updated_at=now)
    return entry


@transaction.atomic
def case_reply_send(
    *, case: Case, actor: Actor, body: str, then_status: str = "", now: dt.datetime | None = None
) -> CaseEntry:
    """Reply to the customer of `case` through journeys (trigger `case_reply`, sent at any hour, the words in
    `{{ staff_message }}`), kept as a reply entry linked to its message. Stops the first-response clock; with
    `then_status` ("waiting_on_customer", "resolved") the case moves on in the same step.

    Refused with a ValidationError naming `body`, and nothing stored, when the text is empty or too long, the
    case has no customer, the shop turned the reply rule off, or the customer cannot be reached (with why)."""
    now = now or timezone.now()
    body = _text(body, field="body", max_length=REPLY_MAX_LENGTH, empty=_("Write the reply to the customer."))
    case = Case.objects.select_for_update(of=("self",)).select_related("shop", "customer", "order").get(pk=case.pk)
    if case.customer is None:
        raise ValidationError({"body": _("This case has no customer to write to.")})
    case_rules_ensure(case.shop)
    if not trigger_has_active_rule(shop_id=case.shop_id, trigger=REPLY_TRIGGER):
        raise ValidationError({"body": _("The care rule “Support reply” is off; turn it on in Care rules.")})
    entry = CaseEntry.objects.create(case=case, kind=CaseEntry.Kind.REPLY, body=body, author=actor.user, at=now)
    messages = message_plan(
        trigger=REPLY_TRIGGER,
        shop=case.shop,
        customer=case.customer,
        order=case.order,
        anchor_at=now,
        step=reply_step(case.pk, entry.pk),
        now=now,
    )
    planned = next((message for message in messages if message.status == Message.Status.SCHEDULED), None)
    if planned is None:
        why = messages[0].explanation if messages else _("no rule of the shop applies to this customer.")
        raise ValidationError({"body": _("The reply cannot be sent: %s") % why})
    entry.message = planned
    entry.channel = planned.channel
    entry.save(update_fields=["message", "channel"])
    audit_record(case, action="replied", actor=actor, details={"entry": entry.pk, "message": planned.pk}, at=now)
    if case.first_responded_at is None:
        case.first_responded_at = now
        Case.objects.filter(pk=case.pk).update(first_responded_at=now)
    # What the customer waited for is answered (an unhappy review's answer-by time).
    CaseItem.objects.filter(case=case, dispute__isnull=True, due_at__isnull=False).update(due_at=None)
    if case.status == Case.Status.NEW and then_status != Case.Status.NEW:
        case_move(case, to=Case.Status.OPEN, actor=actor, note=_("Replied."), now=now)
    if then_status and then_status != case.status:
        case_status_set(case=case, to=then_status, actor=actor, now=now)
    else:
        case_due_refresh(case=case)
    Case.objects.filter(pk=case.pk).update(updated_at=now)
    return entry


# --- macros -----------------------------------------------------------------------------------------


def macro_check(body: str) -> None:
    """Refuse (ValidationError on `body`) a macro whose placeholders do not parse."""
    try:
        _ENGINE.from_string(body)
    except TemplateSyntaxError as error:
        raise ValidationError({"body": _("The placeholders do not work: %s") % error}) from error


def macro_context(case: Case, agent=None) -> dict:
    """What macros may use: {{ customer.first_name }}, {{ customer.name }}, {{ order.number }}, {{ shop.name }},
    {{ agent.first_name }}, {{ case.number }}."""
    customer = case.customer
    return {
        "customer": {
            "first_name": getattr(customer, "first_name", "") or "",
            "last_name": getattr(customer, "last_name", "") or "",
            "name": " ".join(filter(None, [getattr(customer, "first_name", ""), getattr(customer, "last_name", "")])),
        },
        "order": {"number": case.order.number if case.order_id else ""},
        "shop": {"name": case.shop.name},
        "agent": {"first_name": (getattr(agent, "first_name", "") or getattr(agent, "username", "")) if agent else ""},
        "case": {"number": case.number},
    }


def macro_render(*, macro: Macro, case: Case, agent=None) -> str:
    """The text of `macro` for `case`, its placeholders filled from the case's customer and order."""
    return _ENGINE.from_string(macro.body).render(Context(macro_context(case, agent))).strip()


@dataclass(frozen=True)
class MacroChoice:
    name: str
    language: str
    text: str


def macros_for_case(*, case: Case, agent=None) -> list[MacroChoice]:
    """The shop's active macros for `case`, one per name: in the case's language when the macro has it, else
    in the shop's default language, else in any language it has; each rendered for this case."""
    wanted = [case.language, case.shop.default_language]
    by_name: dict[str, Macro] = {}
    for macro in Macro.objects.filter(shop_id=case.shop_id, is_active=True).order_by("name", "id"):
        current = by_name.get(macro.name)
        rank = wanted.index(macro.language) if macro.language in wanted else len(wanted)
        if current is None or rank < (wanted.index(current.language) if current.language in wanted else len(wanted)):
            by_name[macro.name] = macro
    return [
        MacroChoice(name=name, language=macro.language, text=macro_render(macro=macro, case=case, agent=agent))
        for name, macro in by_name.items()
    ]

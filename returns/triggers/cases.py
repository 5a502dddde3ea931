"""The support queue's triggers (kind EXTERNAL, planned by returns itself) and the values their copy uses.

`case_reply`: an agent's reply from the case page, transactional and sent at any hour (the customer is
waiting for it), the agent's words in `{{ staff_message }}`. `satisfaction_survey`: one question after a
case is resolved, with `{{ links.satisfaction_survey }}`; it is dropped before sending when the case was
opened again or already answered.

`staff_message` is also reviews' value (its private follow-ups): each app registers it for its own trigger.
"""

from django.utils.translation import gettext_lazy as _

from journeys.context import ValueSpec, link_register, value_register
from journeys.triggers import Kind, TriggerSpec, trigger_register
from returns.links.survey import SURVEY_LINKS, SURVEY_TRIGGER

REPLY_TRIGGER = "case_reply"
REPLY_MAX_LENGTH = 2000


def reply_step(case_id: int, entry_id: int) -> str:
    return f"case-{case_id}-reply-{entry_id}"


def _step_ids(message) -> tuple[int, int] | None:
    parts = message.step.split("-")
    if len(parts) == 4 and parts[0] == "case" and parts[2] == "reply" and parts[1].isdigit() and parts[3].isdigit():
        return int(parts[1]), int(parts[3])
    return None


def _survey_still_applies(message) -> str:
    from returns.models import Case

    parts = message.step.split("-")
    case_id = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
    row = Case.objects.filter(pk=case_id, shop_id=message.shop_id).values("status", "satisfaction_answered_at").first()
    if row is None:
        return "the case no longer exists"
    if row["satisfaction_answered_at"] is not None:
        return "the customer already answered the survey"
    if row["status"] != Case.Status.RESOLVED:
        return "the case was opened again"
    return ""


CASE_REPLY = TriggerSpec(
    name=REPLY_TRIGGER,
    label=_("Support reply"),
    description=_("A reply an agent writes on a support case; the words are in {{ staff_message }}."),
    kind=Kind.EXTERNAL,
    anchor_label=_("written"),
    default_channel="email",
    default_fallback_channel="sms",
    default_send_any_hour=True,
    default_expire_after_hours=72,
    in_default_rule_set=False,
    holdout_allowed=False,  # a person's reply always goes out
)

SATISFACTION_SURVEY = TriggerSpec(
    name=SURVEY_TRIGGER,
    label=_("Satisfaction survey after support"),
    description=_(
        "One question (how did we do, 1 to 5) an hour after a support case is resolved, with "
        "{{ links.satisfaction_survey }}; never twice for a case, and not when it was opened again."
    ),
    kind=Kind.EXTERNAL,
    anchor_label=_("resolved"),
    default_delay=(1, "hours"),
    default_channel="email",
    default_fallback_channel="sms",
    default_expire_after_hours=72,
    in_default_rule_set=False,
    still_applies=_survey_still_applies,
)

CASE_TRIGGER_SPECS = (CASE_REPLY, SATISFACTION_SURVEY)


def _case_staff_message(message) -> str:
    ids = _step_ids(message)
    if ids is None:  # a preview in the admin
        return "Thanks for your patience: the replacement left our warehouse today."
    from returns.models import CaseEntry

    return (
        CaseEntry.objects.filter(pk=ids[1], case_id=ids[0], case__shop_id=message.shop_id)
        .values_list("body", flat=True)
        .first()
        or ""
    )


STAFF_MESSAGE = ValueSpec(
    name="staff_message",
    description="Support replies: the words the agent wrote",
    worst_case="W" * REPLY_MAX_LENGTH,
    make=_case_staff_message,
    triggers=frozenset({REPLY_TRIGGER}),
)


def case_triggers_register() -> None:
    """Register the triggers, the survey link and the reply's words with journeys. Idempotent."""
    for spec in CASE_TRIGGER_SPECS:
        trigger_register(spec)
    for link in SURVEY_LINKS:
        link_register(link)
    value_register(STAFF_MESSAGE)


def case_rules_ensure(shop, *, is_demo: bool = False) -> None:
    """Give `shop` the rules of both triggers, on (a reply is only what a person wrote; the survey has its own
    switch in the support settings). Idempotent: a shop listener, and called before planning."""
    from journeys.models import CareRule
    from journeys.services.rules import care_rules_for_triggers_create

    if CareRule.objects.filter(shop=shop, trigger__in=[s.name for s in CASE_TRIGGER_SPECS]).count() < len(
        CASE_TRIGGER_SPECS
    ):
        care_rules_for_triggers_create(shop=shop, specs=CASE_TRIGGER_SPECS, active=lambda spec: True)

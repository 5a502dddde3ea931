"""Care rules and their templates: the default set every shop starts with, saving, dry runs."""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.consent_policy import marketing_triggers_by_country
from journeys.models import HOLDOUT_PERCENT_MAX, CareRule, Channel, Message, MessageTemplate
from journeys.rendering import template_problems
from journeys.services.planning import SCAN_BUILDERS, message_build, rule_matches
from journeys.triggers import ORDER_CARE_TRIGGERS, Kind, TriggerSpec, trigger_get
from merchant.models import Merchant, Order

DEFAULT_COPY_DIR = Path(settings.BASE_DIR) / "templates" / "journeys" / "messages"


# --- templates ------------------------------------------------------------------------------------


def message_template_check(template: MessageTemplate) -> None:
    """Raise ValidationError naming each field whose template has a syntax error or an unknown name."""
    errors: dict[str, list[str]] = {}
    for name, html in (("subject", False), ("body", False), ("html_body", True)):
        source = getattr(template, name)
        if source:
            problems = template_problems(source, html=html)
            if problems:
                errors[name] = [str(problem) for problem in problems]
    if template.channel == Channel.EMAIL and not template.subject.strip():
        errors.setdefault("subject", []).append(_("An email needs a subject."))
    if template.channel == Channel.PUSH and not template.subject.strip():
        errors.setdefault("subject", []).append(_("A browser notification needs a title (the subject field)."))
    if errors:
        raise ValidationError(errors)


def message_template_save(*, template: MessageTemplate) -> MessageTemplate:
    """Save a template variant after checking it; a template with an error is refused and nothing changes."""
    message_template_check(template)
    template.full_clean()
    template.save()
    return template


def default_copy(trigger: str, language: str, *, channel: str = "") -> dict[str, str] | None:
    """The shipped default words for a trigger in a language (templates/journeys/messages/), or None.

    SMS and email share `<language>.txt` (with `.subject.txt` and `.html` for email). A browser
    notification has its own, `<language>.push.txt`: the title on the first line, the text after it.
    """
    folder = DEFAULT_COPY_DIR / trigger
    if channel == Channel.PUSH:
        path = folder / f"{language}.push.txt"
        if not path.exists():
            return None
        title, _newline, body = path.read_text(encoding="utf-8").strip().partition("\n")
        return {"subject": title.strip(), "body": body.strip(), "html_body": ""}
    text = folder / f"{language}.txt"
    if not text.exists():
        return None

    def read(path: Path) -> str:
        return path.read_text(encoding="utf-8").strip() if path.exists() else ""

    return {
        "body": read(text),
        "subject": read(folder / f"{language}.subject.txt"),
        "html_body": read(folder / f"{language}.html"),
    }


def default_templates_create(*, rule: CareRule, fallback_trigger: str = "") -> list[MessageTemplate]:
    """The shipped copy of the rule's trigger (else of `fallback_trigger`), for each of its channels and
    every shipped language the rule has no template in yet."""
    created = []
    existing = set(rule.templates.values_list("channel", "language"))
    for channel in rule.channels:
        for language, _name in settings.LANGUAGES:
            copy = default_copy(rule.trigger, language, channel=channel) or (
                default_copy(fallback_trigger, language, channel=channel) if fallback_trigger else None
            )
            if copy is None or (channel, language) in existing:
                continue
            template = MessageTemplate(
                rule=rule,
                channel=channel,
                language=language,
                body=copy["body"],
                subject=copy["subject"] if channel in (Channel.EMAIL, Channel.PUSH) else "",
                html_body=copy["html_body"] if channel == Channel.EMAIL else "",
            )
            created.append(message_template_save(template=template))
    return created


# --- rules ----------------------------------------------------------------------------------------------


def care_rule_check(rule: CareRule) -> None:
    spec = trigger_get(rule.trigger)
    if spec is None:
        raise ValidationError({"trigger": _("“%s” is not a known trigger.") % rule.trigger})
    if rule.holdout_percent and (not spec.holdout_allowed or spec.kind == Kind.CAMPAIGN):
        words = (
            _("Campaigns and greetings keep no holdout group; set 0.")
            if spec.kind == Kind.CAMPAIGN
            else _("“%s” messages answer the customer or carry what they need, so nobody may be held out; set 0.")
            % spec.label
        )
        raise ValidationError({"holdout_percent": words})
    if not 0 <= rule.holdout_percent <= HOLDOUT_PERCENT_MAX:
        raise ValidationError(
            {"holdout_percent": _("Hold out between 0 and %d percent of customers.") % HOLDOUT_PERCENT_MAX}
        )
    if rule.fallback_channel and rule.fallback_channel == rule.channel:
        raise ValidationError({"fallback_channel": _("The fallback must be another channel than the first.")})
    if rule.send_any_hour and rule.message_class != "transactional":
        raise ValidationError({"send_any_hour": _("Only transactional messages may be sent at any hour.")})
    if rule.window_start == rule.window_end and not rule.send_any_hour:
        raise ValidationError({"window_end": _("The send window must not start and end at the same time.")})
    if rule.coupon_pool_id and rule.coupon_pool.shop_id != rule.shop_id:
        raise ValidationError({"coupon_pool": _("The coupon pool belongs to another shop.")})


@transaction.atomic
def care_rule_save(*, rule: CareRule) -> CareRule:
    """Create or change a rule. Turning a rule off cancels its scheduled messages."""
    care_rule_check(rule)
    rule.full_clean()
    was_active = CareRule.objects.filter(pk=rule.pk, is_active=True).exists() if rule.pk else False
    rule.save()
    if was_active and not rule.is_active:
        messages_cancel_for_rule(rule=rule, words=_("Cancelled: the rule was turned off."))
    return rule


def messages_cancel_for_rule(*, rule: CareRule, words: str) -> int:
    now = timezone.now()
    return Message.objects.filter(rule=rule, status=Message.Status.SCHEDULED).update(
        status=Message.Status.CANCELLED,
        reason=Message.Reason.RULE_DISABLED,
        explanation=words,
        finished_at=now,
        updated_at=now,
    )


def _default_rule(shop: Merchant, spec: TriggerSpec) -> CareRule:
    amount, unit = spec.default_delay
    return CareRule(
        shop=shop,
        name=str(spec.label),
        trigger=spec.name,
        is_active=False,
        delay_amount=amount,
        delay_unit=unit,
        channel=spec.default_channel,
        fallback_channel=spec.default_fallback_channel,
        message_class=spec.default_message_class,
        send_any_hour=spec.default_send_any_hour,
        expire_after_hours=spec.default_expire_after_hours,
    )


@transaction.atomic
def care_rules_for_triggers_create(
    *, shop: Merchant, specs: Iterable[TriggerSpec], active: Callable[[TriggerSpec], bool]
) -> list[CareRule]:
    """One rule per trigger in `specs` with its defaults and the shipped copy in every language, on when
    `active(spec)` says so. Other apps give shops the rules of their triggers with it.

    Idempotent, and safe for shops made long ago: a trigger the shop has a rule of already gets none, whatever
    the owner named that rule, on or off, and its copy is left as the owner edited it (the shop's oldest rule of
    the trigger is returned). A default name another of the shop's rules has taken gets the trigger's name
    added, e.g. "Delivered (delivered)".
    """
    rules = []
    for spec in specs:
        rule = CareRule.objects.filter(shop=shop, trigger=spec.name).order_by("pk").first()
        if rule is None:
            rule = _default_rule(shop, spec)
            if CareRule.objects.filter(shop=shop, name=rule.name).exists():
                rule.name = f"{rule.name} ({spec.name})"[: CareRule._meta.get_field("name").max_length]
            rule.is_active = active(spec)
            rule = care_rule_save(rule=rule)
            default_templates_create(rule=rule)
        rules.append(rule)
    return rules


def care_rules_default_create(shop: Merchant, *, is_demo: bool = False) -> list[CareRule]:
    """Give a shop the order-care rule set with copy in every language: off until the owner turns
    rules on, except in the demo shop, which shows the engine working."""
    specs = [spec for spec in ORDER_CARE_TRIGGERS if spec.in_default_rule_set]
    return care_rules_for_triggers_create(shop=shop, specs=specs, active=lambda spec: is_demo)


# --- dry run ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    count: int
    sample: list[Message]
    note: str = ""


def care_rule_dry_run(*, rule: CareRule, limit: int = 20, now: dt.datetime | None = None) -> DryRun:
    """What the rule would plan if it were on now, over the shop's current orders. Writes nothing."""
    now = now or timezone.now()
    spec = trigger_get(rule.trigger)
    if spec is None:
        return DryRun(0, [], _("Unknown trigger."))
    if rule.trigger in SCAN_BUILDERS:
        built = SCAN_BUILDERS[rule.trigger](rule, now)
        return DryRun(len(built), built[:limit])
    if not spec.order_anchor_field:
        return DryRun(0, [], _("This trigger reacts to events as they happen; existing orders give no preview."))
    anchor = spec.order_anchor_field
    earliest = now - rule.delay - dt.timedelta(hours=rule.expire_after_hours)
    orders = (
        Order.objects.filter(shop_id=rule.shop_id, customer__isnull=False, **{f"{anchor}__gte": earliest})
        .filter(~Exists(Message.objects.filter(rule_id=rule.pk, order=OuterRef("pk"))))
        .select_related("customer", "shop")
        .order_by(f"-{anchor}")
    )
    if spec.fits_order_statuses is not None:
        orders = orders.filter(status__in=spec.fits_order_statuses)
    marketing_in = marketing_triggers_by_country(shop_id=rule.shop_id, trigger=rule.trigger)
    built = [
        message_build(
            rule=rule,
            spec=spec,
            shop=order.shop,
            customer=order.customer,
            order=order,
            anchor_at=getattr(order, anchor),
            now=now,
            marketing_triggers=marketing_in(order.customer.country.code),
        )
        for order in orders[:5000]
        if rule_matches(rule=rule, order=order, customer=order.customer)
    ]
    return DryRun(len(built), built[:limit])

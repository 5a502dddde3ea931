"""The planner: turns order changes into outbox rows, in the same transaction as the change.

For every applied order event it cancels the order's open messages that no longer fit the new
status (declared per trigger in `journeys.triggers`), then plans one message per matching active
rule. Messages are inserted with a unique idempotency key (rule + order + step), so a repeated
event or a second scan plans nothing twice. Time-based triggers (late shipment, stuck parcel)
are found by `time_triggers_scan`, a periodic indexed query.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from journeys.consent_policy import effective_class, marketing_triggers_by_country, marketing_triggers_for
from journeys.holdout import holdout_includes
from journeys.legal_windows import LegalWindow, hours_next_allowed, legal_window_for
from journeys.models import CareRule, Channel, CountryMessageClass, Message, MessageClass, OverBudget
from journeys.prepared_statements import prepared_cursor
from journeys.push.selectors import push_subscription_live_exists
from journeys.send_windows import SendWindow, window_describe
from journeys.services.budget import MONTH, budget_next_slot, budgets_for, customer_budget_uses
from journeys.triggers import TriggerSpec, trigger_get, triggers_for_order_event, triggers_not_fitting
from merchant.models import Customer, Merchant, Order, OrderEvent, Shipment

Reason = Message.Reason
Status = Message.Status
EventType = OrderEvent.Type
# Looked up directly: get_status_display() translates every choice of the field on each call.
ORDER_STATUS_LABELS = dict(Order.Status.choices)


# --- who, where, when ---------------------------------------------------------------------------


def phone_e164(customer: Customer) -> str:
    """The customer's number in E.164, or "" when there is none.

    Not validated again: a number is stored only once it was valid (`phone_problem` says why not),
    and validating (which `str()` and truthiness of a phone number do) is the costliest step of a send.
    """
    phone = customer.phone
    return phone.as_e164 if isinstance(phone, PhoneNumber) else ""


def channel_problem(
    *, channel: str, customer: Customer, message_class: str, push_live: bool = False
) -> tuple[str, str] | None:
    """(reason, words) when `customer` cannot get `message_class` messages on `channel` now; None when they can.

    Push reaches only a browser that subscribed on the order's status page (`push_live`: the order has a
    live subscription), and only with the order's transactional updates: that is all the customer
    accepted there, so marketing never goes by push.
    """
    if channel == Channel.PUSH:
        if message_class == MessageClass.MARKETING:
            return Reason.NO_CONSENT, _("browser notifications carry order updates only, not marketing")
        if not push_live:
            return Reason.INVALID_ADDRESS, _("no browser asked for notifications about this order")
        return None
    if channel == Channel.SMS:
        if not phone_e164(customer):
            words = (
                _("the phone number “%s” cannot take texts (%s)") % (customer.phone_as_received, customer.phone_problem)
                if customer.phone_problem
                else _("no phone number")
            )
            return Reason.INVALID_ADDRESS, words
        if customer.sms_opted_out_at:
            return Reason.OPTED_OUT, _("opted out of SMS")
        if message_class == MessageClass.MARKETING and not customer.sms_marketing_consent_at:
            return Reason.NO_CONSENT, _("no SMS marketing consent")
        return None
    if not customer.email:
        return Reason.INVALID_ADDRESS, _("no email address")
    if customer.email_opted_out_at:
        return Reason.OPTED_OUT, _("opted out of email")
    if message_class == MessageClass.MARKETING and not customer.email_marketing_consent_at:
        return Reason.NO_CONSENT, _("no email marketing consent")
    return None


@dataclass(frozen=True)
class ChannelChoice:
    channel: str
    problem: tuple[str, str] | None  # set when no channel is usable: the first channel's problem
    note: str  # explanation of a fallback


def channel_choose(
    *, channels: list[str], customer: Customer, message_class: str, push_live: bool = False
) -> ChannelChoice:
    """The first usable channel of `channels`, in order."""
    problems = []
    for channel in channels:
        problem = channel_problem(channel=channel, customer=customer, message_class=message_class, push_live=push_live)
        if problem is None:
            note = ""
            if problems:
                note = _("%(channel)s instead of %(first)s: %(why)s.") % {
                    "channel": Channel(channel).label,
                    "first": Channel(channels[0]).label,
                    "why": problems[0][1],
                }
            return ChannelChoice(channel, None, note)
        problems.append(problem)
    return ChannelChoice(channels[0], problems[0], "")


def message_time_zone(*, customer: Customer | None, shop: Merchant) -> str:
    return (customer.time_zone if customer else "") or shop.time_zone


def message_language(*, order: Order | None, customer: Customer | None, shop: Merchant) -> str:
    return (order.language if order else "") or (customer.language if customer else "") or shop.default_language


def rule_window(rule: CareRule) -> SendWindow:
    return SendWindow(rule.window_start, rule.window_end, any_hour=rule.send_any_hour)


def message_legal_window(*, customer: Customer | None, message_class: str) -> LegalWindow | None:
    """The legal window a marketing message to `customer` keeps to (journeys.legal_windows); None for transactional."""
    if message_class != MessageClass.MARKETING or customer is None:
        return None
    return legal_window_for(country=customer.country.code or "", phone=customer.phone)


def hours_describe(window: SendWindow, legal: LegalWindow | None) -> str:
    if legal is None:
        return window_describe(window)
    return _("%(window)s and the legal window for marketing, %(legal)s") % {
        "window": window_describe(window),
        "legal": legal.describe(),
    }


def local_moment(moment: dt.datetime, time_zone: str) -> str:
    """ "3 Mar 14:02" in the given zone: how explanations show times."""
    local = timezone.localtime(moment, timezone=ZoneInfo(time_zone))
    return f"{local.day} {local:%b %H:%M}"


def delay_describe(rule: CareRule) -> str:
    if not rule.delay_amount:
        return ""
    return f" + {rule.delay_amount} {CareRule.DelayUnit(rule.delay_unit).label}"


# --- planning one message -----------------------------------------------------------------------


def idem_key_for(*, rule: CareRule, order: Order | None, customer: Customer, step: str) -> str:
    subject = f"order:{order.pk}" if order is not None else f"customer:{customer.pk}"
    return f"rule:{rule.pk}:{subject}:{step}"


def message_build(
    *,
    rule: CareRule,
    spec: TriggerSpec,
    shop: Merchant,
    customer: Customer,
    order: Order | None,
    anchor_at: dt.datetime,
    step: str = "0",
    now: dt.datetime | None = None,
    marketing_triggers: frozenset[str] | None = None,
) -> Message:
    """The outbox row for one rule and one customer (unsaved), with its time, class and explanation.

    The class is the rule's, or marketing where the shop says the trigger is marketing in the
    customer's country (`marketing_triggers`, looked up when not given). A marketing message keeps
    to the legal window of the customer's country too, and to the contact budget. A customer who
    cannot be reached, a message over budget, or one already too late gives a row that is
    suppressed or expired with the reason, so the outbox shows why nothing was sent. A customer in
    the rule's holdout group (journeys.holdout) gets a row suppressed with reason `holdout` and
    `holdout=True`: planned, never sent, not counted against the contact budget.
    """
    now = now or timezone.now()
    time_zone = message_time_zone(customer=customer, shop=shop)
    window = rule_window(rule)
    not_before = anchor_at + rule.delay
    expires_at = not_before + dt.timedelta(hours=rule.expire_after_hours)
    country = customer.country.code or ""
    if marketing_triggers is None and rule.message_class != MessageClass.MARKETING:
        marketing_triggers = marketing_triggers_for(shop_id=shop.pk, country=country, triggers=[rule.trigger])
    message_class = effective_class(
        rule_class=rule.message_class,
        trigger=rule.trigger,
        country=country,
        marketing_triggers=marketing_triggers or frozenset(),
    )
    # Only a rule that names push asks whether the order has a live subscription (a rule of SMS or email
    # goes by push anyway when it has one: the dispatcher decides that when sending, journeys.services.push).
    push_live = Channel.PUSH in rule.channels and order is not None and push_subscription_live_exists(order=order)
    choice = channel_choose(
        channels=rule.channels, customer=customer, message_class=message_class.message_class, push_live=push_live
    )
    legal = message_legal_window(customer=customer, message_class=message_class.message_class)
    earliest = max(not_before, now)
    try:
        send_at = hours_next_allowed(window, legal, earliest, time_zone)
        never_open = ""
    except ValueError as error:  # the rule's hours never meet the legal ones: nothing to plan for
        send_at, never_open = earliest, str(error)
    idem_key = idem_key_for(rule=rule, order=order, customer=customer, step=step)

    reasoning = [
        _("Rule “%(rule)s”: %(anchor)s %(when)s%(delay)s.")
        % {
            "rule": rule.name,
            "anchor": spec.anchor_label,
            "when": local_moment(anchor_at, time_zone),
            "delay": delay_describe(rule),
        }
    ]
    if message_class.note:
        reasoning.append(message_class.note)
    if not_before < now - dt.timedelta(minutes=1):
        reasoning.append(
            _("That was due %(due)s, so as soon as possible.") % {"due": local_moment(not_before, time_zone)}
        )
    if send_at > earliest:
        reasoning.append(
            _("Moved to %(when)s %(zone)s by the send window (%(window)s).")
            % {"when": local_moment(send_at, time_zone), "zone": time_zone, "window": hours_describe(window, legal)}
        )
    else:
        reasoning.append(
            _("Send at %(when)s %(zone)s.") % {"when": local_moment(send_at, time_zone), "zone": time_zone}
        )
    if choice.note:
        reasoning.append(choice.note)

    status, reason = Status.SCHEDULED, ""
    holdout = _holdout_draw(rule=rule, spec=spec, customer=customer, order=order)
    if holdout:
        # Drawn before any other check, so both groups hold the same mix of reachable and unreachable
        # customers; the row keeps its channel and times, and is never sent or counted as contact.
        status, reason = Status.SUPPRESSED, Reason.HOLDOUT
        reasoning.append(
            _(
                "Not sent: held out to measure the rule. %(percent)d%% of customers, picked at random, get no "
                "message from it, so the dashboard can compare what they do with what the others do."
            )
            % {"percent": rule.holdout_percent}
        )
    elif choice.problem is not None:
        status, reason = Status.SUPPRESSED, choice.problem[0]
        reasoning.append(_("Not sent: %s.") % choice.problem[1])
    elif never_open:
        status, reason = Status.EXPIRED, Reason.EXPIRED_WINDOW
        reasoning.append(_("Not sent: %s") % never_open)
    elif message_class.message_class == MessageClass.MARKETING:
        send_at, budget_words, over_budget = _budget_apply(
            rule=rule,
            shop=shop,
            customer=customer,
            idem_key=idem_key,
            send_at=send_at,
            legal=legal,
            time_zone=time_zone,
        )
        if budget_words:
            reasoning.append(budget_words)
        if over_budget:
            status, reason = Status.SUPPRESSED, Reason.BUDGET
    if status == Status.SCHEDULED and (expires_at <= now or send_at > expires_at):
        status, reason = Status.EXPIRED, Reason.EXPIRED_WINDOW
        reasoning.append(
            _("Not sent: too late, it stopped being useful at %(when)s.")
            % {"when": local_moment(expires_at, time_zone)}
        )
    return Message(
        shop=shop,
        customer=customer,
        order=order,
        rule=rule,
        trigger=rule.trigger,
        step=step,
        idem_key=idem_key,
        channel=choice.channel,
        fallback_channel=rule.fallback_channel if rule.fallback_channel != choice.channel else "",
        language=message_language(order=order, customer=customer, shop=shop),
        time_zone=time_zone,
        message_class=message_class.message_class,
        status=status,
        reason=reason,
        anchor_at=anchor_at,
        not_before=not_before,
        send_at=send_at,
        expires_at=expires_at,
        explanation=" ".join(str(part) for part in reasoning),
        finished_at=now if status != Status.SCHEDULED else None,
        holdout=holdout,
        created_at=now,
    )


def _holdout_draw(*, rule: CareRule, spec: TriggerSpec, customer: Customer, order: Order | None) -> bool | None:
    """True: held out; False: in the group compared with them; None: the rule keeps no holdout group now."""
    if not rule.holdout_percent or rule.pk is None or not spec.holdout_allowed:
        return None
    return holdout_includes(
        rule_id=rule.pk,
        percent=rule.holdout_percent,
        customer_id=customer.pk if customer is not None else None,
        order_id=order.pk if order is not None else None,
    )


def _budget_apply(
    *,
    rule: CareRule,
    shop: Merchant,
    customer: Customer,
    idem_key: str,
    send_at: dt.datetime,
    legal: LegalWindow | None,
    time_zone: str,
) -> tuple[dt.datetime, str, bool]:
    """(send_at, explanation, dropped) for a marketing message against the customer's contact budget.

    Counts the customer's marketing messages sent and scheduled (two queries). Deferring moves the
    message to the first slot with room that the windows also allow.
    """
    budget = budgets_for([shop.pk])[shop.pk]
    used = customer_budget_uses(customer_id=customer.pk, since=send_at - MONTH, exclude_idem_key=idem_key)
    slot = budget_next_slot(budget, used, send_at)
    if slot == send_at:
        return send_at, "", False
    if rule.over_budget == OverBudget.DROP:
        return (
            send_at,
            _("Not sent: the contact budget (%(budget)s) has no room before %(when)s %(zone)s.")
            % {
                "budget": budget.describe(),
                "when": local_moment(slot, time_zone),
                "zone": time_zone,
            },
            True,
        )
    window = rule_window(rule)
    for _attempt in range(10):  # a slot the windows move may meet a later scheduled message
        moved = hours_next_allowed(window, legal, slot, time_zone)
        slot = budget_next_slot(budget, used, moved)
        if slot == moved:
            break
    words = _("Deferred to %(when)s %(zone)s by the contact budget (%(budget)s).") % {
        "when": local_moment(slot, time_zone),
        "zone": time_zone,
        "budget": budget.describe(),
    }
    return slot, words, False


def rule_matches(*, rule: CareRule, order: Order | None, customer: Customer) -> bool:
    """Whether the rule's conditions hold for this order and customer. Unset conditions hold."""
    if order is not None:
        if rule.min_order_total is not None and order.total < rule.min_order_total:
            return False
        if rule.max_order_total is not None and order.total > rule.max_order_total:
            return False
    if rule.customer_countries and customer.country.code not in {country.code for country in rule.customer_countries}:
        return False
    if _has_tag_condition(rule) and not customer.tags.filter(care_rules=rule).exists():
        return False
    categories = rule.product_categories
    if categories and order is not None and not order.lines.filter(product__category__in=categories).exists():
        return False
    if rule.customer_kind != CareRule.CustomerKind.ANY and order is not None:
        earlier = Order.objects.filter(customer=customer, placed_at__lt=order.placed_at).exclude(pk=order.pk).exists()
        if earlier != (rule.customer_kind == CareRule.CustomerKind.REPEAT):
            return False
    return True


def _has_tag_condition(rule: CareRule) -> bool:
    # Rules loaded by `rules_active_for` or `rules_with_conditions` know it without a query.
    known = getattr(rule, "has_tag_condition", None)
    return rule.customer_tags.exists() if known is None else known


def rules_with_conditions(queryset):
    """Rules, each annotated with whether it has a tag condition: one query for the planner."""
    tag_links = CareRule.customer_tags.through.objects.filter(carerule_id=OuterRef("pk"))
    return queryset.annotate(has_tag_condition=Exists(tag_links))


# The planner runs inside every order change, where building ORM queries cost several times more
# than running them (bench/outbox.py, planning part): its three statements are written out here.
# On PostgreSQL they are prepared (journeys.prepared_statements): planning a statement on
# `journeys_message` costs more than running it. Their text is therefore constant there: lists
# are passed as arrays (`= ANY(%s)`), not as a variable number of placeholders.

_TAGS_TABLE = CareRule.customer_tags.through._meta.db_table
_RULE_FIELDS = CareRule._meta.concrete_fields
_RULE_ATTNAMES = [field.attname for field in _RULE_FIELDS]
_RULE_COLUMNS = ", ".join("r." + field.column for field in _RULE_FIELDS)
_COUNTRY_CLASSES_TABLE = CountryMessageClass._meta.db_table
_CUSTOMERS_TABLE = Customer._meta.db_table
# Each rule also says whether its trigger is marketing for the customer's country (journeys.consent_policy),
# so the class costs no statement of its own.
_ACTIVE_RULES_SQL = (
    "SELECT " + _RULE_COLUMNS + ", EXISTS (SELECT 1 FROM " + _TAGS_TABLE + " t WHERE t.carerule_id = r.id), "  # noqa: S608 - table and column names from the models; values are parameters
    "EXISTS (SELECT 1 FROM " + _COUNTRY_CLASSES_TABLE + " c WHERE c.shop_id = r.shop_id AND c.trigger = r.trigger "
    "AND c.country = (SELECT u.country FROM "
    + _CUSTOMERS_TABLE
    + " u WHERE u.id = %s) AND c.message_class = 'marketing') "
    "FROM journeys_carerule r WHERE r.shop_id = %s AND r.is_active = %s AND {trigger_in} "
    "ORDER BY r.trigger, r.name, r.id"
)
_ACTIVE_RULES_SQL_POSTGRESQL = _ACTIVE_RULES_SQL.format(trigger_in="r.trigger = ANY(%s::varchar[])")
# Per vendor: (position, column, converters) of the rule fields whose database value needs converting.
_RULE_CONVERTERS: dict[str, list] = {}


def _rule_converters() -> list:
    if connection.vendor not in _RULE_CONVERTERS:
        converting = []
        for position, field in enumerate(_RULE_FIELDS):
            column = field.get_col(CareRule._meta.db_table)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if converters:
                converting.append((position, column, converters))
        _RULE_CONVERTERS[connection.vendor] = converting
    return _RULE_CONVERTERS[connection.vendor]


def rules_active_for(*, shop_id: int, triggers: list[str], customer_id: int | None = None) -> list[CareRule]:
    """The shop's active rules for `triggers`, each knowing whether it has a tag condition and whether
    its trigger is marketing in the country of the customer (`marketing_in_country`). One query."""
    if not triggers:
        return []
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_ACTIVE_RULES_SQL_POSTGRESQL, [customer_id, shop_id, True, list(triggers)])
        else:
            trigger_in = "r.trigger IN (" + ", ".join(["%s"] * len(triggers)) + ")"
            cursor.execute(_ACTIVE_RULES_SQL.format(trigger_in=trigger_in), [customer_id, shop_id, True, *triggers])
        return _rules_from_rows(cursor.fetchall())


def _rules_from_rows(rows: list[tuple]) -> list[CareRule]:
    db = connections[DEFAULT_DB_ALIAS]
    converting = _rule_converters()
    rules = []
    for row in rows:
        values = list(row[:-2])
        for position, column, converters in converting:
            for converter in converters:
                values[position] = converter(values[position], column, db)
        rule = CareRule.from_db(db.alias, _RULE_ATTNAMES, values)
        rule.has_tag_condition, rule.marketing_in_country = bool(row[-2]), bool(row[-1])
        rules.append(rule)
    return rules


_INSERT_FIELDS = [field for field in Message._meta.concrete_fields if not field.primary_key]
_INSERT_ROW = "(" + ", ".join(["%s"] * len(_INSERT_FIELDS)) + ")"
_INSERT_SQL = (
    "INSERT INTO journeys_message ("  # noqa: S608 - column names from the model; values are parameters
    + ", ".join(field.column for field in _INSERT_FIELDS)
    + ") VALUES {rows} ON CONFLICT (idem_key) DO NOTHING"
)
# An order event plans a row or two: each such count is one prepared statement. Longer lists (the
# time-based scan) are sent as before; one `unnest` statement for any count was measured slower:
# dumping ~40 one-element arrays costs more than planning saves.
_PREPARED_INSERT_ROWS_MAX = 4


def messages_insert(messages: Iterable[Message], *, now: dt.datetime | None = None) -> int:
    """Insert outbox rows; a row whose idempotency key exists already is skipped. Returns the count given.

    A message whose useful life ended before its event reached us (history imported from a shop
    platform, an event reported days late) is not inserted: it never had a chance to be sent.
    Only a repeated idempotency key is skipped; any other constraint still fails loudly.
    """
    now = now or timezone.now()
    messages = [message for message in messages if message.expires_at is None or message.expires_at > now]
    for start in range(0, len(messages), 500):
        chunk = messages[start : start + 500]
        # The connection itself, not the `connection` proxy: each attribute read through the proxy
        # is a context-local lookup, and preparing ~40 values reads several.
        db = connections[DEFAULT_DB_ALIAS]
        params = [
            field.get_db_prep_save(field.pre_save(message, True), db) for message in chunk for field in _INSERT_FIELDS
        ]
        sql = _INSERT_SQL.format(rows=", ".join([_INSERT_ROW] * len(chunk)))
        cursor = prepared_cursor() if len(chunk) <= _PREPARED_INSERT_ROWS_MAX else connection.cursor()
        with cursor:
            cursor.execute(sql, params)
    return len(messages)


# --- from order events ----------------------------------------------------------------------------


def _step_for(event: OrderEvent) -> str:
    """What makes a message unique within its rule and order: each parcel, each refund."""
    shipment_id = event.details.get("shipment_id")
    if event.type in (EventType.SHIPPED, EventType.PARTIALLY_SHIPPED, EventType.OUT_FOR_DELIVERY) and shipment_id:
        return f"shipment-{shipment_id}"
    if event.type in (EventType.PARTIALLY_REFUNDED, EventType.REFUNDED):
        return f"event-{event.pk}"
    return "0"


_CANCEL_SQL = (
    "UPDATE journeys_message SET status = %s, reason = %s, finished_at = %s, updated_at = %s, explanation = %s "
    "WHERE order_id = %s AND status = %s AND {trigger_in}"
)
_CANCEL_SQL_POSTGRESQL = _CANCEL_SQL.format(trigger_in="trigger = ANY(%s::varchar[])")
# A status change that also plans makes one round trip on PostgreSQL: the cancel as a
# data-modifying WITH, which PostgreSQL runs once and to completion though nothing reads it.
_CANCEL_THEN_ACTIVE_RULES_SQL_POSTGRESQL = (
    "WITH cancelled AS (" + _CANCEL_SQL_POSTGRESQL + ") " + _ACTIVE_RULES_SQL_POSTGRESQL
)


def _cancel_params(*, order: Order, event: OrderEvent) -> list | None:
    """The cancel's parameters, the unfitting triggers last; None when every open message still fits."""
    unfitting = triggers_not_fitting(order.status)
    if not unfitting:
        return None
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    explanation = _("Cancelled: the order became %(status)s on %(when)s.") % {
        "status": str(ORDER_STATUS_LABELS.get(order.status, order.status)).lower(),
        "when": f"{event.occurred_at:%Y-%m-%d %H:%M} UTC",
    }
    scheduled_of_order = [order.pk, Status.SCHEDULED, sorted(unfitting)]
    return [Status.CANCELLED, Reason.ORDER_CHANGED, now, now, explanation, *scheduled_of_order]


def order_messages_cancel_unfitting(*, order: Order, event: OrderEvent) -> int:
    """Cancel the order's scheduled messages that the new status made pointless (paid: no unpaid reminder)."""
    params = _cancel_params(order=order, event=event)
    return 0 if params is None else _cancel(params)


def _cancel(params: list) -> int:
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_CANCEL_SQL_POSTGRESQL, params)
        else:
            *values, unfitting = params
            trigger_in = "trigger IN (" + ", ".join(["%s"] * len(unfitting)) + ")"
            cursor.execute(_CANCEL_SQL.format(trigger_in=trigger_in), [*values, *unfitting])
        return cursor.rowcount


def order_messages_cancel_unfitting_and_rules_load(
    *, order: Order, event: OrderEvent, triggers: list[str]
) -> list[CareRule]:
    """`order_messages_cancel_unfitting`, then `rules_active_for` the order's shop: one statement on PostgreSQL."""
    params = _cancel_params(order=order, event=event)
    if params is not None and connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
            rules_params = [order.customer_id, order.shop_id, True, list(triggers)]
            cursor.execute(_CANCEL_THEN_ACTIVE_RULES_SQL_POSTGRESQL, [*params, *rules_params])
            return _rules_from_rows(cursor.fetchall())
    if params is not None:
        _cancel(params)
    return rules_active_for(shop_id=order.shop_id, triggers=triggers, customer_id=order.customer_id)


def order_event_plan(order: Order, event: OrderEvent) -> None:
    """Order listener, inside the transaction of the change: cancel what no longer fits, plan what is due."""
    # A new order has no messages yet; otherwise only a change of status can make one pointless.
    status_changed = bool(event.from_status) and event.from_status != event.to_status
    specs = {spec.name: spec for spec in triggers_for_order_event(event.type)}
    if not specs or order.customer_id is None:
        if status_changed:
            order_messages_cancel_unfitting(order=order, event=event)
        return
    if status_changed:
        rules = order_messages_cancel_unfitting_and_rules_load(order=order, event=event, triggers=sorted(specs))
    else:
        rules = rules_active_for(shop_id=order.shop_id, triggers=sorted(specs), customer_id=order.customer_id)
    if not rules:
        return
    customer = order.customer
    step = _step_for(event)
    marketing_triggers = frozenset(rule.trigger for rule in rules if rule.marketing_in_country)
    messages_insert(
        message_build(
            rule=rule,
            spec=specs[rule.trigger],
            shop=order.shop,
            customer=customer,
            order=order,
            anchor_at=event.occurred_at,
            step=step,
            marketing_triggers=marketing_triggers,
        )
        for rule in rules
        if rule_matches(rule=rule, order=order, customer=customer)
    )


# --- time-based triggers ------------------------------------------------------------------------------

SCAN_BATCH = 1000


def _not_planned_yet(rule: CareRule):
    return ~Exists(Message.objects.filter(rule=rule, order=OuterRef("pk")))


def _late_shipments_build(rule: CareRule, now: dt.datetime) -> list[Message]:
    spec = trigger_get("late_shipment")
    cutoff = now - rule.delay
    orders = (
        Order.objects.filter(
            shop_id=rule.shop_id,
            status=Order.Status.PAID,
            ship_by__lte=cutoff,
            ship_by__gt=cutoff - dt.timedelta(hours=rule.expire_after_hours),
            customer__isnull=False,
        )
        .filter(_not_planned_yet(rule))
        .select_related("customer", "shop")
        .order_by("ship_by")[:SCAN_BATCH]
    )
    marketing_in = marketing_triggers_by_country(shop_id=rule.shop_id, trigger=rule.trigger)
    return [
        message_build(
            rule=rule,
            spec=spec,
            shop=order.shop,
            customer=order.customer,
            order=order,
            anchor_at=order.ship_by,
            marketing_triggers=marketing_in(order.customer.country.code),
        )
        for order in orders
        if rule_matches(rule=rule, order=order, customer=order.customer)
    ]


def _stuck_parcels_build(rule: CareRule, now: dt.datetime) -> list[Message]:
    spec = trigger_get("stuck_parcel")
    cutoff = now - rule.delay
    shipments = (
        Shipment.objects.filter(
            status__in=STUCK_SHIPMENT_STATUSES,
            last_carrier_event_at__lte=cutoff,
            last_carrier_event_at__gt=cutoff - dt.timedelta(hours=rule.expire_after_hours),
            order__shop_id=rule.shop_id,
            order__status__in=spec.fits_order_statuses,
            order__customer__isnull=False,
        )
        .select_related("order__customer", "order__shop")
        .order_by("last_carrier_event_at")[:SCAN_BATCH]
    )
    marketing_in = marketing_triggers_by_country(shop_id=rule.shop_id, trigger=rule.trigger)
    planned = [
        message_build(
            rule=rule,
            spec=spec,
            shop=shipment.order.shop,
            customer=shipment.order.customer,
            order=shipment.order,
            anchor_at=shipment.last_carrier_event_at,
            step=stuck_parcel_step(shipment),
            marketing_triggers=marketing_in(shipment.order.customer.country.code),
        )
        for shipment in shipments
        if rule_matches(rule=rule, order=shipment.order, customer=shipment.order.customer)
    ]
    known = set(Message.objects.filter(idem_key__in=[m.idem_key for m in planned]).values_list("idem_key", flat=True))
    return [message for message in planned if message.idem_key not in known]


STUCK_SHIPMENT_STATUSES = (Shipment.Status.LABEL_CREATED, Shipment.Status.IN_TRANSIT, Shipment.Status.FAILURE)


def stuck_parcel_step(shipment: Shipment) -> str:
    # One message per quiet spell: a parcel that moves and then goes quiet again is a new case.
    return f"shipment-{shipment.pk}-quiet-since-{int(shipment.last_carrier_event_at.timestamp())}"


# Builders of the messages a time-based rule would plan now (not yet planned ones only).
SCAN_BUILDERS = {"late_shipment": _late_shipments_build, "stuck_parcel": _stuck_parcels_build}


def time_triggers_scan(*, now: dt.datetime | None = None) -> int:
    """Plan the messages of time-based triggers that came due (nothing happened: that is the news).

    Each rule's scan is an index range scan bounded by the rule's delay and expiry; orders and
    parcels already planned are skipped, so running it every minute plans each case once.
    """
    now = now or timezone.now()
    planned = 0
    rules = rules_with_conditions(CareRule.objects.filter(is_active=True, trigger__in=list(SCAN_BUILDERS)))
    for rule in rules:
        with transaction.atomic():
            planned += messages_insert(SCAN_BUILDERS[rule.trigger](rule, now))
    return planned

"""The contact budget: how many marketing messages one customer gets, over every app and channel.

One budget per customer and shop (default at most 1 in any 24 hours and 4 in any 30 days, per shop
in `ContactBudget`); transactional messages neither count nor are counted. It is applied twice:

- when a message is planned (`budget_slot`), against the customer's sent and scheduled marketing
  messages: a rule either defers an over-budget message to the next free slot or drops it;
- just before sending (`BudgetLedger`), against what was really sent, plus what the same batch
  already admitted. On PostgreSQL the batch's customers are locked (`FOR UPDATE`, in id order)
  while the ledger counts and marks the admitted messages (`budget_counted_at`), so a second
  dispatcher sending to the same customer at the same moment counts them before they are sent.

Windows are sliding: a message sent at 10:00 leaves room again at 10:00 the next day, exactly.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q

from journeys.models import ContactBudget, Message, MessageClass
from merchant.models import Customer

DAY = dt.timedelta(hours=24)
MONTH = dt.timedelta(days=30)
Status = Message.Status
# A message uses the budget from the moment it is handed to the provider until it is known not sent.
COUNTED_STATUSES = (Status.SENDING, Status.SENT, Status.DELIVERED, Status.UNKNOWN)


@dataclass(frozen=True)
class Budget:
    per_day: int = 1
    per_30_days: int = 4

    def describe(self) -> str:
        return f"{self.per_day}/24 h, {self.per_30_days}/30 days"


DEFAULT_BUDGET = Budget()


def budgets_for(shop_ids: Iterable[int]) -> dict[int, Budget]:
    """Each shop's budget (the default where the shop set none). One query."""
    found = {
        shop_id: Budget(per_day, per_30_days)
        for shop_id, per_day, per_30_days in ContactBudget.objects.filter(shop_id__in=set(shop_ids)).values_list(
            "shop_id", "per_day", "per_30_days"
        )
    }
    return {shop_id: found.get(shop_id, DEFAULT_BUDGET) for shop_id in shop_ids}


def budget_fits(budget: Budget, used: list[dt.datetime], at: dt.datetime) -> bool:
    """Whether one more message at `at` keeps every 24-hour and 30-day window within `budget`.

    A window (end - length, end] holds `at` when at <= end < at + length; its count only grows at a
    used instant, so checking the ends `at` and each used instant in [at, at + length) is enough.
    """
    for length, cap in ((DAY, budget.per_day), (MONTH, budget.per_30_days)):
        for end in [at, *(moment for moment in used if at <= moment < at + length)]:
            if sum(1 for moment in used if end - length < moment <= end) + 1 > cap:
                return False
    return True


def budget_next_slot(budget: Budget, used: list[dt.datetime], earliest: dt.datetime) -> dt.datetime:
    """The first instant >= earliest at which one more message fits the budget.

    Room appears only when an earlier message leaves a window, so the candidates are `earliest` and
    each used instant plus 24 hours or 30 days.
    """
    candidates = sorted(
        {earliest} | {moment + length for moment in used for length in (DAY, MONTH) if moment + length > earliest}
    )
    for candidate in candidates:
        if budget_fits(budget, used, candidate):
            return candidate
    raise AssertionError("after the last used instant plus 30 days a budget of at least 1 always fits")


# --- planning ---------------------------------------------------------------------------------------


def customer_budget_uses(*, customer_id: int, since: dt.datetime, exclude_idem_key: str = "") -> list[dt.datetime]:
    """When the customer's marketing messages were sent, or are scheduled, from `since` on. One query."""
    rows = (
        Message.objects.filter(customer_id=customer_id, message_class=MessageClass.MARKETING)
        .filter(
            Q(status=Status.SCHEDULED, send_at__gt=since)
            | Q(status__in=COUNTED_STATUSES)
            & (Q(budget_counted_at__gt=since) | Q(budget_counted_at__isnull=True, sent_at__gt=since))
        )
        .exclude(idem_key=exclude_idem_key)
        .values_list("status", "send_at", "sent_at", "budget_counted_at")
    )
    return sorted(
        send_at if status == Status.SCHEDULED else (counted_at or sent_at)
        for status, send_at, sent_at, counted_at in rows
    )


# --- sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetVerdict:
    admitted: bool
    next_slot: dt.datetime | None = None  # when not admitted: the first instant with room
    budget: Budget = DEFAULT_BUDGET


class BudgetLedger:
    """The contact budget of the marketing messages of one claimed batch, decided all at once.

    The first `verdict()` counts, in one short transaction, what each of the batch's customers was
    sent in the last 30 days, admits the batch's messages in order while they fit, and marks the
    admitted ones. A batch without marketing messages never builds one.
    """

    def __init__(self, messages: list[Message]) -> None:
        self.messages = [message for message in messages if message.message_class == MessageClass.MARKETING]
        self.verdicts: dict[int, BudgetVerdict] | None = None

    def verdict(self, message: Message, *, now: dt.datetime) -> BudgetVerdict:
        if self.verdicts is None:
            self.verdicts = self._decide(now)
        return self.verdicts[message.pk]

    def _decide(self, now: dt.datetime) -> dict[int, BudgetVerdict]:
        ids = [message.pk for message in self.messages]
        customer_ids = sorted({message.customer_id for message in self.messages if message.customer_id})
        budgets = budgets_for({message.shop_id for message in self.messages})
        verdicts: dict[int, BudgetVerdict] = {}
        with transaction.atomic():
            if connection.vendor == "postgresql" and customer_ids:
                # In id order, so two dispatchers never wait for each other in a circle.
                list(
                    Customer.objects.select_for_update(of=("self",))
                    .filter(pk__in=customer_ids)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
            used: dict[int, list[dt.datetime]] = defaultdict(list)
            rows = (
                Message.objects.filter(
                    customer_id__in=customer_ids,
                    message_class=MessageClass.MARKETING,
                    status__in=COUNTED_STATUSES,
                )
                .filter(
                    Q(budget_counted_at__gt=now - MONTH) | Q(budget_counted_at__isnull=True, sent_at__gt=now - MONTH)
                )
                .exclude(pk__in=ids)
                .values_list("customer_id", "budget_counted_at", "sent_at")
            )
            for customer_id, counted_at, sent_at in rows:
                moment = counted_at or sent_at
                if moment is not None:
                    used[customer_id].append(moment)
            admitted = []
            for message in self.messages:
                budget = budgets[message.shop_id]
                uses = used[message.customer_id]
                if budget_fits(budget, uses, now):
                    uses.append(now)
                    admitted.append(message.pk)
                    verdicts[message.pk] = BudgetVerdict(True, budget=budget)
                else:
                    verdicts[message.pk] = BudgetVerdict(False, budget_next_slot(budget, uses, now), budget)
            if admitted:
                Message.objects.filter(pk__in=admitted).update(budget_counted_at=now)
        return verdicts

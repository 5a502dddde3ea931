"""A small shop history whose journey map is worked out by hand (used by the journey map's tests).

Alpha Shoes (New York) with ten orders placed in the 30 days from `first_day`, local time:

    order  customer  placed           paid shipped delivered  other
    #1     Ann       day 1 10:00      yes  yes     yes        reviewed; Ann orders #9 later; Ann's code brings Fay (#10)
    #2     Ben       day 2 10:00      yes  yes     yes        reviewed; Ben's later order (day 31) was cancelled
    #3     Cal       day 3 10:00      yes  yes     yes        Cal orders again on day 32 (after the period)
    #4     Dee       day 4 10:00      yes  yes     -
    #5     Eve       day 5 10:00      yes  -       -
    #6     Gus       day 0 00:10      -    -       -          the first minutes of the period, in New York
    #7     Hal       day 6 10:00      -    -       -          cancelled unpaid
    #8     Ida       day 7 10:00      yes  -       -          refunded
    #9     Ann       day 19 10:00     yes  -       -
    #10    Fay       day 29 23:30     yes  -       -          Ann's friend; the period's last minutes (Dec 1 in UTC)

Outside the cohort: Jon's order at 23:30 the day before the period, Ben's cancelled order and Cal's repeat
after it, and Beta Tea's delivered and reviewed order.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from journeys.tests.factories import CareRuleFactory, MessageFactory
from merchant.models import Order
from merchant.tests.factories import CustomerFactory, OrderFactory
from reviews.models import ReferralInvitation, ReferralReward
from reviews.tests.factories import ReviewFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@dataclass
class Seeded:
    orders: dict[str, Order]
    rules: dict[str, object]
    first_day: dt.date

    @property
    def query(self) -> dict[str, str]:
        return {"start": self.first_day.isoformat(), "end": (self.first_day + dt.timedelta(days=29)).isoformat()}


def _at(first_day: dt.date, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    local = dt.datetime.combine(first_day + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=NEW_YORK)
    return local.astimezone(dt.UTC)


def journey_seed(shop, other_shop, *, first_day: dt.date) -> Seeded:
    people = {
        name: CustomerFactory(shop=shop, first_name=name, last_name="Doe")
        for name in ["Ann", "Ben", "Cal", "Dee", "Eve", "Fay", "Gus", "Hal", "Ida", "Jon"]
    }
    orders: dict[str, Order] = {}

    def order(key, who, day, *, hour=10, minute=0, paid=False, shipped=False, delivered=False, **extra):
        placed = _at(first_day, day, hour, minute)
        status = (
            Order.Status.DELIVERED
            if delivered
            else Order.Status.SHIPPED
            if shipped
            else Order.Status.PAID
            if paid
            else Order.Status.PENDING_PAYMENT
        )
        orders[key] = OrderFactory(
            shop=extra.pop("shop", shop),
            customer=people.get(who, who),
            number=key,
            placed_at=placed,
            paid_at=placed + dt.timedelta(hours=1) if paid else None,
            shipped_at=placed + dt.timedelta(days=1) if shipped else None,
            delivered_at=placed + dt.timedelta(days=3) if delivered else None,
            status=extra.pop("status", status),
            **extra,
        )
        return orders[key]

    order("#1", "Ann", 1, paid=True, shipped=True, delivered=True)
    order("#2", "Ben", 2, paid=True, shipped=True, delivered=True)
    order("#3", "Cal", 3, paid=True, shipped=True, delivered=True)
    order("#4", "Dee", 4, paid=True, shipped=True)
    order("#5", "Eve", 5, paid=True)
    order("#6", "Gus", 0, hour=0, minute=10)
    order("#7", "Hal", 6, status=Order.Status.CANCELLED, cancelled_at=_at(first_day, 8))
    order("#8", "Ida", 7, paid=True, status=Order.Status.REFUNDED, refunded_at=_at(first_day, 9), refunded_total=100)
    order("#9", "Ann", 19, paid=True)
    order("#10", "Fay", 29, hour=23, minute=30, paid=True)
    # Outside the cohort.
    order("#0", "Jon", -1, hour=23, minute=30, paid=True)
    order("#B2", "Ben", 31, status=Order.Status.CANCELLED, cancelled_at=_at(first_day, 31, 12))
    order("#C2", "Cal", 32, paid=True)
    beta = CustomerFactory(shop=other_shop, first_name="Zoe")
    order("#Z1", beta, 10, paid=True, shipped=True, delivered=True, shop=other_shop)

    ReviewFactory(shop=shop, order=orders["#1"], customer=people["Ann"], rating=5)
    ReviewFactory(shop=shop, order=orders["#2"], customer=people["Ben"], rating=2)
    ReviewFactory(shop=other_shop, order=orders["#Z1"], customer=beta, rating=5)
    invitation = ReferralInvitation.objects.create(
        shop=shop, customer=people["Ann"], code="ANN-2FRIENDS", reason=ReferralInvitation.Reason.REVIEW
    )
    ReferralReward.objects.create(
        shop=shop,
        invitation=invitation,
        referrer=people["Ann"],
        order=orders["#10"],
        referred_customer=people["Fay"],
        code="ann-2friends",
    )

    # Rules and what their messages did; a message counts in the period it was planned in.
    rules = {
        "unpaid": CareRuleFactory(shop=shop, name="Unpaid reminder", trigger="unpaid_reminder", is_active=True),
        "shipped": CareRuleFactory(shop=shop, name="Shipped", trigger="shipped", is_active=True),
        "review": CareRuleFactory(shop=shop, name="Review request", trigger="review_request", is_active=True),
        "greeting": CareRuleFactory(shop=shop, name="Holiday greeting", trigger="holiday_greeting", is_active=False),
        "beta": CareRuleFactory(shop=other_shop, name="Beta shipped", trigger="shipped", is_active=True),
    }

    def message(rule, day, *, sent=False, clicked=False, shop_=shop):
        at = _at(first_day, day, 12)
        MessageFactory(
            shop=shop_,
            rule=rule,
            trigger=rule.trigger,
            status="delivered" if sent else "scheduled",
            created_at=at,
            send_at=at,
            anchor_at=at,
            sent_at=at if sent else None,
            clicked_at=at + dt.timedelta(minutes=5) if clicked else None,
        )

    message(rules["unpaid"], 6)
    message(rules["shipped"], 2, sent=True, clicked=True)
    message(rules["shipped"], 3, sent=True)
    message(rules["shipped"], 5)  # planned, still waiting (or not sent)
    message(rules["shipped"], 30, sent=True, clicked=True)  # after the period
    message(rules["review"], 8, sent=True, clicked=True)
    message(rules["review"], 9, sent=True, clicked=True)
    message(rules["beta"], 10, sent=True, clicked=True, shop_=other_shop)
    return Seeded(orders=orders, rules=rules, first_day=first_day)


def recent_first_day() -> dt.date:
    """The first day of the journey map's default period (the last 30 days) in New York."""
    return timezone.now().astimezone(NEW_YORK).date() - dt.timedelta(days=29)

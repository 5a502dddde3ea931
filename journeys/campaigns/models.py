"""Holiday greetings and one-off campaigns: who gets them (audiences), when (the approved calendar),
and the fan-out that plans one outbox message per recipient.

Both kinds are sent the same way: a `Campaign` row is one send to an audience at one date, and its
fan-out inserts `Message` rows in chunks (keyset cursor stored on the row, so a crash resumes where
it stopped). A holiday greeting makes one `Campaign` per approved holiday date it covers. Each
campaign and greeting carries its own `CareRule` (trigger `campaign` or `holiday_greeting`) for
what every care rule carries: channel and fallback, message class, send window, coupon pool and
the message templates per language, so the dispatcher sends them like any other message.

Loaded by `journeys.models` (Django finds the models there; app label `journeys`).
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from merchant.models import BaseModel, Merchant, Tag

CAMPAIGN_TRIGGER = "campaign"
GREETING_TRIGGER = "holiday_greeting"


def default_send_time() -> dt.time:
    return dt.time(10, 0)


class Audience(BaseModel):
    """A saved segment: the customers (or the orders) a campaign or greeting goes to.

    Every filter that is set must hold; an empty filter does not narrow. Consent, opt-outs and the
    contact budget are not filters: they are applied to each message when it is planned and again
    when it is sent, and who they leave out is counted as suppressed, with the reason.
    """

    class Target(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        ORDERS = "orders", _("Orders (one message per order)")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="audiences")
    name = models.CharField(max_length=100)
    target = models.CharField(max_length=10, choices=Target.choices, default=Target.CUSTOMERS)
    # Customers.
    countries = CountryField(multiple=True, blank=True, help_text=_("The customer lives in one of these. Empty: any."))
    languages = models.JSONField(
        default=list, blank=True, help_text=_("The customer's language is one of these codes. Empty: any.")
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="audiences", help_text=_("The customer has one of these tags. Empty: any.")
    )
    ordered_within_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("The customer's last order is at most this many months old. Empty: any time."),
    )
    min_orders = models.PositiveSmallIntegerField(
        default=0, help_text=_("The customer has placed at least this many orders (0: any customer).")
    )
    # Orders (target = orders): e.g. every paid but unshipped order from one warehouse.
    order_statuses = models.JSONField(
        default=list, blank=True, help_text=_("The order is in one of these statuses. Empty: any.")
    )
    warehouses = models.JSONField(
        default=list, blank=True, help_text=_("The order ships from one of these warehouses. Empty: any.")
    )
    placed_after = models.DateTimeField(null=True, blank=True)
    placed_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["shop__name", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="journeys_audience_unique_name")]

    def __str__(self) -> str:
        return self.name


class ShopDate(BaseModel):
    """A date the shop greets on that no public calendar has: its anniversary, 11.11, Black Friday..."""

    class Kind(models.TextChoices):
        YEARLY = "yearly", _("Every year on the same day")
        BLACK_FRIDAY = "black_friday", _("Black Friday (the day after the fourth Thursday of November)")
        FIRST_ORDER_ANNIVERSARY = "first_order_anniversary", _("Each customer's first-order anniversary")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="shop_dates")
    name = models.CharField(max_length=100, help_text=_("In the shop's language, e.g. “Our 5th birthday”."))
    names = models.JSONField(
        default=dict, blank=True, help_text=_("The name in other languages: {language code: name}.")
    )
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.YEARLY)
    month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    day = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )

    class Meta:
        ordering = ["shop__name", "month", "day", "name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="journeys_shopdate_unique_name"),
            models.CheckConstraint(
                condition=~Q(kind="yearly") | (Q(month__isnull=False) & Q(day__isnull=False)),
                name="journeys_shopdate_yearly_has_day",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApprovedHoliday(BaseModel):
    """One date of the owner's approved calendar: greetings are sent on these and on nothing else.

    Stored when the owner approves the next twelve months, so an update of the `holidays` package
    never silently moves, renames or drops a greeting. `key` names the holiday the same way every
    year (e.g. `chuseok`, `christmas_eve`, `shop:42`), which is what a greeting picks.
    """

    class Source(models.TextChoices):
        CALENDAR = "calendar", _("Public calendar (holidays package)")
        SHOP = "shop", _("Shop date")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="approved_holidays")
    country = CountryField(blank=True, help_text=_("Whose holiday it is. Empty: a shop date, for every country."))
    subdivision = models.CharField(max_length=10, blank=True, help_text=_("ISO 3166-2 code, e.g. DE-BY. Empty: all."))
    key = models.CharField(max_length=80)
    date = models.DateField()
    names = models.JSONField(default=dict, help_text=_("The holiday's name per language code."))
    source = models.CharField(max_length=10, choices=Source.choices)
    source_version = models.CharField(max_length=40, blank=True, help_text=_("e.g. holidays 0.109"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField()

    class Meta:
        ordering = ["date", "country", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "country", "subdivision", "key", "date"], name="journeys_approvedholiday_unique"
            )
        ]
        indexes = [models.Index(fields=["shop", "date"], name="journeys_holiday_shop_date_idx")]

    def __str__(self) -> str:
        return f"{self.names.get('en') or self.key} {self.date:%Y-%m-%d} {self.country or ''}".strip()


class HolidayGreeting(BaseModel):
    """Greet an audience on the approved dates of some holidays, at a local hour, N days ahead or on the day."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="holiday_greetings")
    name = models.CharField(max_length=100)
    rule = models.OneToOneField(
        "journeys.CareRule",
        on_delete=models.PROTECT,
        related_name="holiday_greeting",
        help_text=_("Channel, templates per language, coupon: the message every greeting sends."),
    )
    audience = models.ForeignKey(Audience, on_delete=models.PROTECT, related_name="holiday_greetings")
    holiday_keys = models.JSONField(
        default=list, help_text=_("The holidays greeted: keys of the approved calendar, e.g. “chuseok”.")
    )
    lead_days = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(30)], help_text=_("0: on the day. N: N days before.")
    )
    send_time = models.TimeField(default=default_send_time, help_text=_("Local time of each customer."))
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["shop__name", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="journeys_greeting_unique_name")]

    def __str__(self) -> str:
        return self.name


class Campaign(BaseModel):
    """One send to an audience: a one-off campaign, or one date of a holiday greeting.

    Its status moves only along `TRANSITIONS`, through `journeys.campaigns.services`.
    """

    class Kind(models.TextChoices):
        CAMPAIGN = CAMPAIGN_TRIGGER, _("Campaign")
        GREETING = GREETING_TRIGGER, _("Holiday greeting")

    class Timing(models.TextChoices):
        SHOP_TIME = "shop_time", _("One moment, in the shop's time zone")
        CUSTOMER_TIME = "customer_time", _("The same local time in each customer's time zone")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PLANNING = "planning", _("Planning messages")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.DRAFT: frozenset({S.SCHEDULED, S.CANCELLED}),
        S.SCHEDULED: frozenset({S.PLANNING, S.PAUSED, S.CANCELLED, S.DRAFT}),
        S.PLANNING: frozenset({S.SENDING, S.PAUSED, S.CANCELLED}),
        S.SENDING: frozenset({S.DONE, S.PAUSED, S.CANCELLED}),
        S.PAUSED: frozenset({S.SCHEDULED, S.PLANNING, S.SENDING, S.CANCELLED}),
        S.DONE: frozenset(),
        S.CANCELLED: frozenset(),
    }
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CAMPAIGN)
    rule = models.ForeignKey(
        "journeys.CareRule",
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text=_("Channel, templates per language, coupon: the message every recipient gets."),
    )
    audience = models.ForeignKey(Audience, on_delete=models.PROTECT, related_name="campaigns")
    greeting = models.ForeignKey(
        HolidayGreeting, on_delete=models.CASCADE, null=True, blank=True, related_name="occurrences"
    )
    holiday_key = models.CharField(max_length=80, blank=True)
    holiday_date = models.DateField(null=True, blank=True)
    timing = models.CharField(max_length=15, choices=Timing.choices, default=Timing.CUSTOMER_TIME)
    send_on = models.DateField(null=True, blank=True, help_text=_("Customer time: the local date."))
    send_time = models.TimeField(default=default_send_time, help_text=_("Customer time: the local time."))
    send_at = models.DateTimeField(null=True, blank=True, help_text=_("Shop time: the moment (stored in UTC)."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    # The fan-out's place: the last customer (or order) id planned, and how many messages each send
    # moment already holds, so the next chunk spreads on from there. A crash resumes from these.
    cursor = models.BigIntegerField(default=0)
    spread = models.JSONField(default=dict, blank=True)
    planning_started_at = models.DateTimeField(null=True, blank=True)
    planning_finished_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-send_on", "-send_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["greeting", "holiday_key", "holiday_date"],
                condition=Q(greeting__isnull=False),
                name="journeys_campaign_greeting_date_unique",
            ),
            models.CheckConstraint(
                condition=~Q(timing="shop_time") | Q(send_at__isnull=False) | Q(status="draft"),
                name="journeys_campaign_shop_time_has_moment",
            ),
            models.CheckConstraint(
                condition=~Q(timing="customer_time") | Q(send_on__isnull=False) | Q(status="draft"),
                name="journeys_campaign_customer_time_has_date",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "send_on", "send_at"],
                condition=Q(status__in=["scheduled", "planning"]),
                name="journeys_campaign_due_idx",
            )
        ]

    def __str__(self) -> str:
        return self.name

"""Order-care rules, their message templates, coupons, and the outbox every message goes through.

`Message` is the queue (DESIGN.md §3): one row per intended send, planned in the same
transaction as the order change that caused it, claimed in batches by the dispatcher. Its
status moves only along `Message.TRANSITIONS`, through `journeys.services`.
"""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from merchant.models import (
    CURRENCY_VALIDATOR,
    LANGUAGE_CHOICES,
    MONEY,
    BaseModel,
    Customer,
    InboundEvent,
    Merchant,
    Order,
    Tag,
)


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    # A browser notification to a customer who asked for updates about one order on its status page.
    PUSH = "push", _("Browser notification")


# Channels that reach a customer at an address on their record (phone, email). Push reaches only the
# browsers that subscribed to one order's updates, so campaigns and greetings, which address customers,
# cannot use it.
ADDRESS_CHANNELS = (Channel.SMS, Channel.EMAIL)


class MessageClass(models.TextChoices):
    # Transactional: order care the customer expects; no marketing consent needed, STOP honoured.
    TRANSACTIONAL = "transactional", _("Transactional")
    # Marketing: needs recorded consent for the channel and keeps to the send window.
    MARKETING = "marketing", _("Marketing")


class OverBudget(models.TextChoices):
    # What happens to a marketing message the customer's contact budget has no room for.
    DEFER = "defer", _("Defer to the next free slot")
    DROP = "drop", _("Drop it (recorded)")


class CouponPool(BaseModel):
    """Single-use codes a rule hands out, one per message sent."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="coupon_pools")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True, help_text=_("What the code gives, e.g. 10% off."))

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="journeys_couponpool_unique_name")]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    pool = models.ForeignKey(CouponPool, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=64)
    message = models.OneToOneField(
        "journeys.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="coupon"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["pool", "code"], name="journeys_coupon_unique_code")]
        indexes = [
            # "The next free code of this pool" is an index lookup.
            models.Index(fields=["pool", "id"], condition=Q(message__isnull=True), name="journeys_coupon_free_idx")
        ]

    def __str__(self) -> str:
        return self.code


# Callables, not time values: Django's check for fixed defaults (fields.W161) warns about a time value
# whenever the clock is within seconds of it, e.g. `check --deploy` run at 20:00.
def default_window_start() -> dt.time:
    return dt.time(9, 0)


def default_window_end() -> dt.time:
    return dt.time(20, 0)


# More than half held out would measure the rule by starving it.
HOLDOUT_PERCENT_MAX = 50


class CareRule(BaseModel):
    """When a trigger fires for an order, who gets which message, when and how."""

    class DelayUnit(models.TextChoices):
        MINUTES = "minutes", _("minutes")
        HOURS = "hours", _("hours")
        DAYS = "days", _("days")

    class CustomerKind(models.TextChoices):
        ANY = "any", _("Any customer")
        FIRST_ORDER = "first_order", _("First order only")
        REPEAT = "repeat", _("Repeat customers only")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="care_rules")
    name = models.CharField(max_length=100)
    trigger = models.CharField(max_length=40, help_text=_("What starts the rule; see the list of triggers."))
    is_active = models.BooleanField(default=False, help_text=_("Only active rules plan messages."))
    delay_amount = models.PositiveIntegerField(default=0)
    delay_unit = models.CharField(max_length=10, choices=DelayUnit.choices, default=DelayUnit.MINUTES)
    # Conditions: all that are set must hold when the message is planned.
    min_order_total = models.DecimalField(null=True, blank=True, **MONEY)
    max_order_total = models.DecimalField(null=True, blank=True, **MONEY)
    customer_countries = CountryField(multiple=True, blank=True, help_text=_("Empty: customers anywhere."))
    product_categories = models.JSONField(
        default=list, blank=True, help_text=_("The order holds a product of one of these categories. Empty: any.")
    )
    customer_tags = models.ManyToManyField(
        Tag, blank=True, related_name="care_rules", help_text=_("The customer has one of these tags. Empty: any.")
    )
    customer_kind = models.CharField(max_length=12, choices=CustomerKind.choices, default=CustomerKind.ANY)
    # How.
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    fallback_channel = models.CharField(
        max_length=10, choices=Channel.choices, blank=True, help_text=_("Used when the first channel is impossible.")
    )
    message_class = models.CharField(max_length=15, choices=MessageClass.choices, default=MessageClass.TRANSACTIONAL)
    window_start = models.TimeField(default=default_window_start, help_text=_("Earliest local time of the customer."))
    window_end = models.TimeField(default=default_window_end, help_text=_("Latest local time of the customer."))
    send_any_hour = models.BooleanField(
        default=False, help_text=_("Transactional rules only: send at once, day or night.")
    )
    expire_after_hours = models.PositiveIntegerField(
        default=72,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 365)],
        help_text=_("A message not sent this long after it became due is dropped as too late."),
    )
    coupon_pool = models.ForeignKey(CouponPool, on_delete=models.PROTECT, null=True, blank=True, related_name="rules")
    over_budget = models.CharField(
        max_length=10,
        choices=OverBudget.choices,
        default=OverBudget.DEFER,
        help_text=_("Marketing messages only: what to do when the customer's contact budget is used up."),
    )
    # Measuring: a random, stable share of customers is planned for but never sent to, and compared.
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout group (%)"),
        default=0,
        validators=[MaxValueValidator(HOLDOUT_PERCENT_MAX)],
        help_text=_(
            "To see what the rule really achieves: this share of customers, picked at random, gets no message "
            "from it, and the dashboard compares them with the others (e.g. 10). A customer stays in the same "
            "group. 0: everyone gets the message. Changing it affects only messages planned from then on."
        ),
    )

    class Meta:
        ordering = ["shop__name", "trigger", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="journeys_carerule_unique_name"),
            models.CheckConstraint(
                condition=~Q(channel=models.F("fallback_channel")), name="journeys_carerule_fallback_differs"
            ),
            models.CheckConstraint(
                condition=Q(min_order_total__isnull=True)
                | Q(max_order_total__isnull=True)
                | Q(min_order_total__lte=models.F("max_order_total")),
                name="journeys_carerule_total_range",
            ),
            models.CheckConstraint(
                condition=Q(send_any_hour=False) | Q(message_class="transactional"),
                name="journeys_carerule_any_hour_transactional",
            ),
            models.CheckConstraint(
                condition=Q(holdout_percent__lte=HOLDOUT_PERCENT_MAX), name="journeys_carerule_holdout_range"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "trigger"], condition=Q(is_active=True), name="journeys_rule_active_idx")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def delay(self) -> dt.timedelta:
        return dt.timedelta(**{self.delay_unit: self.delay_amount})

    @property
    def channels(self) -> list[str]:
        return [self.channel, *([self.fallback_channel] if self.fallback_channel else [])]


class MessageTemplate(BaseModel):
    """The words of one rule on one channel in one language (Django template syntax)."""

    rule = models.ForeignKey(CareRule, on_delete=models.CASCADE, related_name="templates")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    subject = models.CharField(
        max_length=200, blank=True, help_text=_("The email's subject, or the browser notification's title.")
    )
    body = models.TextField(help_text=_("The SMS, the plain-text part of the email, or the notification's text."))
    html_body = models.TextField(blank=True, help_text=_("Email only. Empty: made from the text."))

    class Meta:
        ordering = ["rule", "channel", "language", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "channel", "language"], name="journeys_messagetemplate_unique_variant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.get_channel_display()} · {self.get_language_display()}"


class Message(models.Model):
    """The outbox: one row per intended send, and afterwards the record of what was sent."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        SUPPRESSED = "suppressed", _("Suppressed")
        EXPIRED = "expired", _("Expired")
        UNKNOWN = "unknown", _("Unknown (may have been sent)")
        PAUSED = "paused", _("Paused (its campaign is paused)")

    class Reason(models.TextChoices):
        OPTED_OUT = "opted_out", _("Customer opted out")
        NO_CONSENT = "no_consent", _("No marketing consent")
        BUDGET = "budget", _("Contact budget used up")
        INVALID_ADDRESS = "invalid_address", _("No usable address")
        ORDER_CHANGED = "order_changed", _("Order changed")
        HELD = "held", _("Held")
        EXPIRED_WINDOW = "expired_window", _("Too late to send")
        DUPLICATE = "duplicate", _("Duplicate")
        RULE_DISABLED = "rule_disabled", _("Rule turned off")
        NO_COUPON = "no_coupon", _("No coupon code left")
        HOLDOUT = "holdout", _("Held out to measure the rule")

    S = Status
    # Forward only. A leased row goes back to scheduled for a retry or a closed window; a
    # provider callback never moves a delivered message back to sent.
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.SCHEDULED: frozenset({S.SENDING, S.CANCELLED, S.SUPPRESSED, S.EXPIRED, S.PAUSED}),
        # A campaign's messages wait while it is paused, and go on (or are cancelled) with it.
        S.PAUSED: frozenset({S.SCHEDULED, S.CANCELLED}),
        # A claimed message of a campaign paused meanwhile goes back to paused, unsent.
        S.SENDING: frozenset(
            {S.SENT, S.SCHEDULED, S.FAILED, S.SUPPRESSED, S.EXPIRED, S.UNKNOWN, S.CANCELLED, S.PAUSED}
        ),
        S.SENT: frozenset({S.DELIVERED, S.FAILED}),
        S.UNKNOWN: frozenset({S.SENT, S.DELIVERED, S.FAILED}),
        S.DELIVERED: frozenset(),
        S.FAILED: frozenset(),
        S.CANCELLED: frozenset(),
        S.SUPPRESSED: frozenset(),
        S.EXPIRED: frozenset(),
    }
    OPEN: frozenset[str] = frozenset({S.SCHEDULED, S.SENDING})
    del S

    # No single-column indexes on these keys: the composite indexes in Meta start with them, and every
    # index more costs each insert and each statement's planning on the busiest table.
    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="messages", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", db_index=False
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", db_index=False
    )
    rule = models.ForeignKey(
        CareRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages", db_index=False
    )
    campaign = models.ForeignKey(
        "journeys.Campaign", on_delete=models.PROTECT, null=True, blank=True, related_name="messages", db_index=False
    )
    trigger = models.CharField(max_length=40)
    # What makes this send unique within its rule and order: "0", a shipment, a refund event.
    step = models.CharField(max_length=40, default="0")
    idem_key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    fallback_channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    address = models.CharField(max_length=254, blank=True, help_text=_("Phone or email it was sent to."))
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    time_zone = models.CharField(max_length=64)
    message_class = models.CharField(max_length=15, choices=MessageClass.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    anchor_at = models.DateTimeField(
        help_text=_("The moment the trigger refers to, e.g. when the order was delivered.")
    )
    not_before = models.DateTimeField(help_text=_("Business time: the anchor plus the rule's delay."))
    send_at = models.DateTimeField(help_text=_("Next attempt, with the send window applied (UTC)."))
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    explanation = models.TextField(blank=True, help_text=_("Why it was planned for this time, or why not sent."))
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text=_("Exactly what was sent."))
    html_body = models.TextField(blank=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    coupon_code = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text=_("When it stopped being open."))
    # Set just before a marketing message is handed to the provider, under a lock on the customer,
    # so a second dispatcher counts it against the contact budget before it is recorded as sent.
    budget_counted_at = models.DateTimeField(null=True, blank=True)
    # The rule's measurement (journeys.holdout): True held out (suppressed, reason "holdout"), False in the
    # group compared with them; empty when the rule kept no holdout group as it planned this message.
    holdout = models.BooleanField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-send_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "scheduled",
                        "sending",
                        "sent",
                        "delivered",
                        "failed",
                        "cancelled",
                        "suppressed",
                        "expired",
                        "unknown",
                        "paused",
                    ]
                ),
                name="journeys_message_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_until__isnull=False), name="journeys_message_sending_leased"
            ),
        ]
        indexes = [
            # What is due: an index range scan over scheduled rows of one channel, oldest first.
            models.Index(fields=["channel", "send_at"], condition=Q(status="scheduled"), name="journeys_msg_due_idx"),
            # The reaper: leases that ran out.
            models.Index(fields=["lease_until"], condition=Q(status="sending"), name="journeys_msg_lease_idx"),
            # The planner cancels an order's open messages.
            models.Index(fields=["order"], condition=Q(status="scheduled"), name="journeys_msg_order_open_idx"),
            models.Index(fields=["order", "send_at"], name="journeys_msg_order_idx"),
            models.Index(fields=["customer", "send_at"], name="journeys_msg_customer_idx"),
            models.Index(fields=["shop", "status", "send_at"], name="journeys_msg_shop_status_idx"),
            models.Index(fields=["rule", "send_at"], name="journeys_msg_rule_idx"),
            # The dashboard's rule performance (journeys.insight.rules) and the journey map's rule figures: the
            # messages planned in a period, per shop. The columns after created_at are there so PostgreSQL counts
            # from the index alone (an index-only scan) instead of reading a third of the table's rows, bodies and
            # all; the fixed-width ones come first, because reading a column out of an index entry means stepping
            # over every column before it, and the map's counts (rule, sent, clicked) then step over no text.
            models.Index(
                fields=[
                    "shop",
                    "created_at",
                    "rule",
                    "sent_at",
                    "clicked_at",
                    "holdout",
                    "not_before",
                    "segments",
                    "channel",
                    "language",
                    "status",
                    "reason",
                ],
                name="journeys_msg_shop_created_idx",
            ),  # fmt: skip
            # Its outcomes, measured only where a rule keeps a holdout group: a small part of the outbox.
            models.Index(
                fields=[
                    "shop",
                    "created_at",
                    "rule",
                    "channel",
                    "language",
                    "holdout",
                    "not_before",
                    "customer",
                    "order",
                ],
                condition=Q(holdout__isnull=False),
                name="journeys_msg_holdout_idx",
            ),  # fmt: skip
            # A campaign's progress, pause and resume; care messages (no campaign) are not in it.
            models.Index(
                fields=["campaign", "status"], condition=Q(campaign__isnull=False), name="journeys_msg_campaign_idx"
            ),
            # Provider callbacks find their message by the provider's id.
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="journeys_msg_provider_id_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trigger} → {self.get_channel_display()} ({self.get_status_display()})"


class SmsAccount(BaseModel):
    """A shop's own Twilio account: credentials, the sender, and how fast it may send.

    The auth token is write-only: set through `journeys.services.sms_accounts`, used to sign
    requests to Twilio and to check Twilio's signatures, and never shown, listed or logged.
    """

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="sms_accounts")
    label = models.CharField(max_length=100, help_text=_("Your name for this account, e.g. “Twilio US”."))
    account_sid = models.CharField(
        _("account SID"),
        max_length=34,
        validators=[RegexValidator(r"^AC[0-9a-fA-F]{32}$", _("An account SID is AC followed by 32 hex digits."))],
    )
    # Kept in clear because requests are signed with it; editable=False keeps it out of every ModelForm.
    auth_token = models.CharField(max_length=200, editable=False)
    from_number = models.CharField(
        max_length=16,
        blank=True,
        validators=[
            RegexValidator(
                r"^(\+[1-9]\d{1,14}|\d{3,8})$", _("Use an E.164 number such as +14155550100, or a short code.")
            )
        ],
        help_text=_("The sender number. Give this or a messaging service SID, not both."),
    )
    messaging_service_sid = models.CharField(
        _("messaging service SID"),
        max_length=34,
        blank=True,
        validators=[
            RegexValidator(r"^MG[0-9a-fA-F]{32}$", _("A messaging service SID is MG followed by 32 hex digits."))
        ],
    )
    base_url = models.URLField(
        _("API address"),
        default="https://api.twilio.com",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Twilio's API. Change it only to point at a test server."),
    )
    rate_per_second = models.FloatField(
        null=True,
        blank=True,
        default=1.0,
        validators=[MinValueValidator(0)],
        # Twilio queues what a long code gets beyond 1 message per second; a short code takes 100.
        help_text=_("Messages per second across all dispatchers; 1 suits a long code. Empty or 0: no limit."),
    )
    daily_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Most messages per day, e.g. a 10DLC carrier cap. Empty: no cap.")
    )
    is_active = models.BooleanField(default=True, help_text=_("A shop sends through its one active account."))
    # Only for the dashboard's estimate of what texts cost; Twilio's invoice is what counts.
    price_per_segment = models.DecimalField(
        _("price per segment"),
        max_digits=8,
        decimal_places=5,
        default=Decimal("0.0083"),
        validators=[MinValueValidator(0)],
        help_text=_(
            "What one SMS segment costs you, for the dashboard's cost estimate, e.g. 0.0083 for a US long code. "
            "See your Twilio pricing page for the countries you text."
        ),
    )
    price_currency = models.CharField(
        _("currency of the price"), max_length=3, default="USD", validators=[CURRENCY_VALIDATOR]
    )

    class Meta:
        ordering = ["shop__name", "label", "id"]
        verbose_name = _("SMS account")
        constraints = [
            models.UniqueConstraint(
                fields=["shop"],
                condition=Q(is_active=True),
                name="journeys_smsaccount_one_active_per_shop",
                violation_error_message=_("This shop has an active SMS account already; turn that one off first."),
            ),
            models.UniqueConstraint(fields=["shop", "label"], name="journeys_smsaccount_unique_label"),
            models.CheckConstraint(
                condition=(Q(from_number="") & ~Q(messaging_service_sid=""))
                | (~Q(from_number="") & Q(messaging_service_sid="")),
                name="journeys_smsaccount_one_sender",
            ),
            models.CheckConstraint(
                condition=Q(rate_per_second__isnull=True) | Q(rate_per_second__gte=0),
                name="journeys_smsaccount_rate_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["account_sid"], name="journeys_smsaccount_sid_idx")]

    def __str__(self) -> str:
        return f"{self.label} ({self.account_sid})"

    def __repr__(self) -> str:
        return (
            f"<SmsAccount {self.pk}: {self.label} {self.account_sid} {self.from_number or self.messaging_service_sid}>"
        )

    @property
    def sender(self) -> str:
        return self.from_number or self.messaging_service_sid


class InboundSms(models.Model):
    """A text a customer sent to a shop's number: a keyword acted on at once, or words kept for a person."""

    class Kind(models.TextChoices):
        OPT_OUT = "opt_out", _("Opt-out keyword")
        OPT_IN = "opt_in", _("Opt-in keyword")
        HELP = "help", _("Help keyword")
        # Words that may mean "stop" ("wrong number", "不要再发"): a person decides, nothing changes before.
        POSSIBLE_OPT_OUT = "possible_opt_out", _("Maybe an opt-out")
        REPLY = "reply", _("Reply")

    class Resolution(models.TextChoices):
        AUTOMATIC = "automatic", _("Handled automatically")
        OPTED_OUT = "opted_out", _("Opted out by staff")
        NOT_OPT_OUT = "not_opt_out", _("Not an opt-out")

    K, R = Kind, Resolution
    # What a person may decide about a text not handled yet, by kind. Keywords are handled on arrival.
    RESOLUTIONS: dict[str, frozenset[str]] = {
        K.POSSIBLE_OPT_OUT: frozenset({R.OPTED_OUT, R.NOT_OPT_OUT}),
        K.REPLY: frozenset({R.OPTED_OUT}),
        K.OPT_OUT: frozenset(),
        K.OPT_IN: frozenset(),
        K.HELP: frozenset(),
    }
    del K, R

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="inbound_sms")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="inbound_sms")
    event = models.ForeignKey(
        InboundEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The raw delivery."),
    )
    provider_message_id = models.CharField(max_length=64, blank=True)
    from_number = models.CharField(max_length=40)
    to_number = models.CharField(max_length=40, blank=True)
    body = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    received_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("text from a customer")
        verbose_name_plural = _("texts from customers")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["opt_out", "opt_in", "help", "possible_opt_out", "reply"]),
                name="journeys_inboundsms_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(handled_at__isnull=True, resolution="") | Q(handled_at__isnull=False, resolution__gt=""),
                name="journeys_inboundsms_handled_with_resolution",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "received_at"], name="journeys_insms_customer_idx"),
            # "Texts waiting for a person" of a shop.
            models.Index(
                fields=["shop", "kind", "received_at"],
                condition=Q(handled_at__isnull=True),
                name="journeys_insms_waiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.from_number}"


class ProviderPace(models.Model):
    """How fast one provider account is sending: its next free slot and today's count (journeys.services.pacing)."""

    key = models.CharField(max_length=100, primary_key=True, help_text=_("The provider account, e.g. twilio:AC…:+1…"))
    rate_per_second = models.FloatField(null=True, blank=True)
    next_slot_at = models.DateTimeField(null=True, blank=True)
    daily_cap = models.PositiveIntegerField(null=True, blank=True)
    day = models.DateField(null=True, blank=True, help_text=_("The UTC day `sent_on_day` counts."))
    sent_on_day = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} ({self.rate_per_second or '∞'}/s)"


class ConsentRecord(models.Model):
    """One change to what a customer allows on a channel, kept forever as evidence (who, when, how, words).

    The customer's current state lives on `merchant.Customer` (`*_marketing_consent_at`,
    `*_opted_out_at`); `journeys.services.consent.consent_record` changes both together.
    """

    class Action(models.TextChoices):
        # Marketing consent given / taken back. Transactional messages need none.
        GRANTED = "granted", _("Marketing consent given")
        WITHDRAWN = "withdrawn", _("Marketing consent withdrawn")
        # No messages of any class on the channel (SMS STOP, unsubscribe, hard bounce, complaint) / lifted again.
        OPTED_OUT = "opted_out", _("Opted out")
        OPTED_IN = "opted_in", _("Opted back in")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="consent_records")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    # How it came: "sms_keyword", "unsubscribe_page", "email_bounce", "email_complaint", "provider", "admin", ...
    source = models.CharField(max_length=40)
    # The words the customer saw or sent: the checkbox text, the keyword received, the page's button.
    wording = models.TextField(blank=True)
    actor = models.CharField(max_length=200, blank=True)
    message = models.ForeignKey(
        "journeys.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="consent_records"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["customer", "at"], name="journeys_consent_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.action} ({self.source})"


class TrackedLink(models.Model):
    """A link in a sent message, replaced by a short /l/<token> link that counts clicks.

    One row per distinct URL per message, so a resend of the same message reuses its tokens.
    The token is random, not derived from anything, so it tells nobody who the customer is.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tracked_links")
    url = models.URLField(max_length=2000)
    token = models.CharField(max_length=20, unique=True)
    clicks = models.PositiveIntegerField(default=0)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["message", "id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "url"], name="journeys_trackedlink_unique_url"),
        ]

    def __str__(self) -> str:
        return f"{self.token} → {self.url}"


class CountryMessageClass(BaseModel):
    """Whether a trigger's messages are marketing for customers in one country (law, or the owner's choice).

    Every shop starts with the shipped defaults (`journeys.consent_policy.COUNTRY_DEFAULTS`), e.g. a
    review request is advertising in Germany. A rule marked marketing stays marketing everywhere.
    """

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="country_message_classes")
    country = CountryField()
    trigger = models.CharField(max_length=40)
    message_class = models.CharField(max_length=15, choices=MessageClass.choices, default=MessageClass.MARKETING)
    note = models.CharField(max_length=300, blank=True, help_text=_("Why, e.g. the court ruling."))

    class Meta:
        ordering = ["shop__name", "country", "trigger", "id"]
        verbose_name = _("message class by country")
        verbose_name_plural = _("message classes by country")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "country", "trigger"],
                name="journeys_countryclass_unique",
                violation_error_message=_("This shop has a class for this trigger in this country already."),
            ),
            models.CheckConstraint(
                condition=Q(message_class__in=["transactional", "marketing"]), name="journeys_countryclass_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trigger} in {self.country.code}: {self.get_message_class_display()}"


class ContactBudget(BaseModel):
    """How many marketing messages one customer may get from a shop, over every app and channel."""

    shop = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="contact_budget")
    per_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text=_("At most this many in any 24 hours.")
    )
    per_30_days = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1)], help_text=_("At most this many in any 30 days.")
    )

    class Meta:
        ordering = ["shop__name", "id"]
        verbose_name = _("contact budget")
        constraints = [
            models.CheckConstraint(
                condition=Q(per_day__gte=1) & Q(per_30_days__gte=models.F("per_day")),
                name="journeys_contactbudget_sane",
                violation_error_message=_("The 30-day budget must be at least the daily one."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.per_day}/24 h, {self.per_30_days}/30 days"


class PushSubscription(models.Model):
    """A browser that asked, on an order's status page, to be notified about that order (Web Push).

    One row per browser push subscription (its endpoint is unique): the endpoint the push service
    gave the browser and the keys its notifications are encrypted for. Accepting is the customer's
    consent to this order's order-care updates in that browser (kept as a `ConsentRecord` on the push
    channel). A subscription stops being used when the customer turns it off on the page, or when
    the push service answers 404/410 (the browser dropped it): `removed_at` and `removed_reason` say
    which; the row stays as the record of what was sent where.
    """

    class RemovedReason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Turned off by the customer")
        EXPIRED = "expired", _("Gone at the push service (404/410)")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="push_subscriptions")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="push_subscriptions")
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="push_subscriptions", help_text=_("The order it was made for.")
    )
    endpoint = models.URLField(max_length=1000, unique=True, help_text=_("Where the push service takes messages."))
    p256dh = models.CharField(max_length=100, help_text=_("The browser's public key (P-256), base64url."))
    auth = models.CharField(max_length=50, help_text=_("The browser's authentication secret, base64url."))
    expires_at = models.DateTimeField(null=True, blank=True, help_text=_("When the browser says it ends, if it does."))
    user_agent = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_success_at = models.DateTimeField(null=True, blank=True, help_text=_("Last notification the service took."))
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=20, choices=RemovedReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("browser notification subscription")
        constraints = [
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True, removed_reason="")
                | Q(removed_at__isnull=False, removed_reason__in=["unsubscribed", "expired"]),
                name="journeys_pushsubscription_removed_with_reason",
            ),
        ]
        indexes = [
            # The dispatcher asks, once per batch, which of its orders have a live subscription.
            models.Index(fields=["order"], condition=Q(removed_at__isnull=True), name="journeys_pushsub_live_idx"),
            models.Index(fields=["shop", "created_at"], name="journeys_pushsub_shop_idx"),
            models.Index(fields=["customer"], name="journeys_pushsub_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.address} for order {self.order_id}"

    @property
    def is_live(self) -> bool:
        return self.removed_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def address(self) -> str:
        """How the outbox names it: never the endpoint itself, which anyone holding the keys could send to."""
        return f"push #{self.pk} · {urlsplit(self.endpoint).hostname or ''}"


# Holiday greetings and campaigns live in their own module; imported here so Django finds them.
from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign, HolidayGreeting, ShopDate  # noqa: E402, F401

# Visits to the order status page and the anxiety signal's settings (journeys.status).
from journeys.status.models import OrderStatusVisit, StatusCheckSettings  # noqa: E402, F401

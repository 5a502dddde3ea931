"""Visits to the order status page and each shop's settings for the anxiety signal.

A visit is counted from the page's beacon (a POST its small script sends once the page is shown),
never from the GET: link-preview bots of messaging apps fetch links too, and a GET changes nothing.
Repeated visits before delivery raise the `order_status_checked` trigger (journeys.status.services).

Loaded by `journeys.models` (Django finds the models there; app label `journeys`).
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import BaseModel, Merchant, Order

DEFAULT_VISITS = 3
DEFAULT_WINDOW_HOURS = 24


class OrderStatusVisit(models.Model):
    """One counted visit of a customer to their order's status page (a reload burst counts once)."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_visits")
    # Which browser: a random id kept in a cookie, else a keyed hash of address and user agent. Never shown.
    visitor = models.CharField(max_length=64, editable=False)
    order_status = models.CharField(
        max_length=20, choices=Order.Status.choices, help_text=_("Where the order stood when the customer looked.")
    )
    at = models.DateTimeField(default=timezone.now)
    # The visit that crossed the shop's threshold and raised `order_status_checked`; the signal stays quiet for
    # one window from this visit's time (once per window).
    raised_signal = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("order status visit")
        indexes = [
            # The counts of one order's recent visits, and the dedupe of one browser's reloads.
            models.Index(fields=["order", "at"], name="journeys_statusvisit_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} at {self.at:%Y-%m-%d %H:%M}"


class StatusCheckSettings(BaseModel):
    """When repeated visits to the status page count as a worried customer, per shop.

    Shops without a row use the defaults: 3 visits within 24 hours before delivery.
    """

    shop = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="status_check_settings")
    is_enabled = models.BooleanField(
        _("raise the signal"),
        default=True,
        help_text=_("Off: visits are still counted, but nothing is raised and no case is flagged."),
    )
    visits = models.PositiveSmallIntegerField(
        _("visits"),
        default=DEFAULT_VISITS,
        validators=[MinValueValidator(2), MaxValueValidator(50)],
        help_text=_("This many visits before delivery within the window raise “Customer keeps checking the order”."),
    )
    window_hours = models.PositiveSmallIntegerField(
        _("window (hours)"),
        default=DEFAULT_WINDOW_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text=_("The visits must fall within this many hours; the signal is raised at most once per window."),
    )

    class Meta:
        ordering = ["shop__name", "id"]
        verbose_name = _("status check settings")
        verbose_name_plural = _("status check settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(visits__gte=2) & models.Q(window_hours__gte=1),
                name="journeys_statuschecksettings_sane",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visits} visits / {self.window_hours} h"

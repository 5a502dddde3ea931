"""The append-only history every returns aggregate keeps: one row per step, naming who took it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import OrderEvent


class AuditEvent(models.Model):
    """One step of an aggregate's life: the move, who made it, and any words that go with it. Never changed."""

    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    actor_kind = models.CharField(max_length=10, choices=OrderEvent.ActorKind.choices)
    actor_label = models.CharField(max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        moved = f"{self.from_status} → {self.to_status}" if self.to_status else self.action
        return _("%(moved)s by %(actor)s") % {"moved": moved, "actor": self.actor_label or self.actor_kind}

"""Reads of campaigns: the campaigns of a person's shops, their test sends, and how far one has got.

Tenancy-safe by construction: lists take the shop ids of the person asking; progress takes its shop
from the campaign. Progress is a single grouped statement.
"""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from journeys.campaigns.models import Campaign
from journeys.campaigns.services import TEST_STEP
from journeys.models import Message

Status = Message.Status


# --- campaigns of the shops a person belongs to ---------------------------------------------------------


def campaign_list(*, shop_ids) -> QuerySet[Campaign]:
    """The campaigns of these shops, newest first, with what a list shows."""
    return Campaign.objects.filter(shop_id__in=shop_ids).select_related("shop", "audience", "rule", "greeting")


def campaign_get(*, shop_ids, pk: int) -> Campaign | None:
    """One campaign of these shops; None for another shop's (callers answer 404)."""
    return campaign_list(shop_ids=shop_ids).filter(pk=pk).first()


def campaign_messages_sample(*, campaign: Campaign, limit: int = 20) -> list[Message]:
    """The first `limit` messages the fan-out planned (test sends aside), with their customers: who gets what."""
    return list(
        Message.objects.filter(shop_id=campaign.shop_id, campaign=campaign)
        .exclude(step=TEST_STEP)
        .select_related("customer", "order")
        .order_by("pk")[:limit]
    )


def campaign_test_sends(*, campaign: Campaign) -> QuerySet[Message]:
    """The test sends of a campaign, newest first (not part of its progress)."""
    return Message.objects.filter(shop_id=campaign.shop_id, campaign=campaign, step=TEST_STEP).order_by("-id")


# --- progress ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignProgress:
    """Where a campaign's messages stand. Test sends are not counted."""

    planned: int  # every message planned, suppressed ones included
    scheduled: int
    paused: int
    sending: int
    sent: int  # handed to the provider (sent or delivered)
    delivered: int
    clicked: int
    failed: int
    cancelled: int
    expired: int
    unknown: int
    suppressed: dict[str, int]  # reason -> count
    by_status: dict[str, int]
    planning_done: bool  # the fan-out has planned every recipient

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())

    @property
    def suppressed_labelled(self) -> list[tuple[str, str, int]]:
        """(reason, its words, count), for a page."""
        labels = dict(Message.Reason.choices)
        return [(reason, str(labels.get(reason, reason)), count) for reason, count in self.suppressed.items()]

    @property
    def finished(self) -> int:
        """Messages that will not change any more (sent, delivered, failed, suppressed, cancelled, expired)."""
        return self.planned - self.scheduled - self.paused - self.sending

    @property
    def percent(self) -> int:
        """Share of planned messages finished, for a progress bar (0 while nothing is planned)."""
        return int(100 * self.finished / self.planned) if self.planned else 0


def campaign_progress(campaign: Campaign) -> CampaignProgress:
    """Planned, sent, delivered, clicked, suppressed by reason, failed, cancelled, paused, scheduled.

    One grouped statement over the campaign's messages (the (campaign, status) index), in its own shop.
    """
    rows = (
        Message.objects.filter(shop_id=campaign.shop_id, campaign_id=campaign.pk)
        .exclude(step=TEST_STEP)
        .order_by()
        .values_list("status", "reason")
        .annotate(n=Count("pk"), clicked=Count("clicked_at"))
    )
    by_status: Counter = Counter()
    suppressed: Counter = Counter()
    clicked = 0
    for status, reason, count, clicks in rows:
        by_status[status] += count
        clicked += clicks
        if status == Status.SUPPRESSED:
            suppressed[reason or "other"] += count
    return CampaignProgress(
        planned=sum(by_status.values()),
        scheduled=by_status[Status.SCHEDULED],
        paused=by_status[Status.PAUSED],
        sending=by_status[Status.SENDING],
        sent=by_status[Status.SENT] + by_status[Status.DELIVERED],
        delivered=by_status[Status.DELIVERED],
        clicked=clicked,
        failed=by_status[Status.FAILED],
        cancelled=by_status[Status.CANCELLED],
        expired=by_status[Status.EXPIRED],
        unknown=by_status[Status.UNKNOWN],
        suppressed=dict(suppressed.most_common()),
        by_status=dict(by_status),
        planning_done=campaign.planning_finished_at is not None,
    )

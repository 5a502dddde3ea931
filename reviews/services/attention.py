"""Unhappy customers who need a person: a review of 1-2 stars or an NPS score of 0-6, with a deadline.

Each new item is offered to the support queue (`merchant.support_handoff`, where returns registers its
queue): once the queue takes it, it is answered there. Until a queue is registered the items stay in
reviews' own *Needs attention* list.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.support_handoff import PersonNeeded, handler_registered, handoff_offer
from reviews.models import AttentionItem, NpsResponse, Review, ReviewPolicy

LOW_RATING_MAX = 2
DETRACTOR_MAX = 6


def _deadline(shop_id: int, now: dt.datetime) -> dt.datetime:
    hours = ReviewPolicy.objects.filter(shop_id=shop_id).values_list("attention_hours", flat=True).first()
    return now + dt.timedelta(hours=hours or ReviewPolicy._meta.get_field("attention_hours").default)


def attention_for_review(*, review: Review, now: dt.datetime) -> AttentionItem | None:
    """An open item for a review of 1-2 stars (one per review, however often it is edited); None otherwise."""
    if review.rating > LOW_RATING_MAX:
        return None
    item, created = AttentionItem.objects.get_or_create(
        review=review,
        defaults={
            "shop_id": review.shop_id,
            "kind": AttentionItem.Kind.LOW_RATING,
            "customer_id": review.customer_id,
            "order_id": review.order_id,
            "summary": f"{review.rating}/5 · {review.product_title} · {review.title or review.text}"[:300],
            "due_at": _deadline(review.shop_id, now),
        },
    )
    if created:
        attention_item_hand_over(item=item, now=now)
    return item


def attention_for_nps(*, nps: NpsResponse, now: dt.datetime) -> AttentionItem | None:
    """An open item for an NPS score of 0-6 (one per answer); None otherwise."""
    if nps.score > DETRACTOR_MAX:
        return None
    item, created = AttentionItem.objects.get_or_create(
        nps=nps,
        defaults={
            "shop_id": nps.shop_id,
            "kind": AttentionItem.Kind.DETRACTOR,
            "customer_id": nps.customer_id,
            "order_id": nps.order_id,
            "summary": f"NPS {nps.score}/10 · {nps.comment}"[:300],
            "due_at": _deadline(nps.shop_id, now),
        },
    )
    if created:
        attention_item_hand_over(item=item, now=now)
    return item


@transaction.atomic
def attention_item_hand_over(*, item: AttentionItem, now: dt.datetime | None = None) -> AttentionItem:
    """Offer an open item to the support queue; when the queue takes it, the item says so and where it went.

    Returns the item unchanged when no queue is registered, the queue could not take it, or it is not open
    (resolved, or handed over already). The queue's rows commit with the item's.
    """
    if not handler_registered():
        return item
    locked = AttentionItem.objects.select_for_update().get(pk=item.pk)
    if AttentionItem.Status.HANDED_OVER not in AttentionItem.TRANSITIONS[locked.status]:
        return locked
    admin_path = (
        reverse("admin:reviews_review_change", args=[locked.review_id])
        if locked.review_id
        else reverse("admin:reviews_npsresponse_change", args=[locked.nps_id])
    )
    reference = handoff_offer(
        PersonNeeded(
            shop_id=locked.shop_id,
            source=f"reviews.attentionitem:{locked.pk}",
            kind=locked.kind,
            summary=locked.summary,
            due_at=locked.due_at,
            customer_id=locked.customer_id,
            order_id=locked.order_id,
            admin_path=admin_path,
        )
    )
    if reference is None:
        return locked
    locked.status = AttentionItem.Status.HANDED_OVER
    locked.handed_over_at = now or timezone.now()
    locked.queue_reference = reference
    locked.save(update_fields=["status", "handed_over_at", "queue_reference", "updated_at"])
    item.__dict__.update(status=locked.status, handed_over_at=locked.handed_over_at, queue_reference=reference)
    return locked


@transaction.atomic
def attention_item_resolve(*, item: AttentionItem, actor: Actor, note: str = "") -> AttentionItem:
    """Mark an item answered, with who did it and, optionally, what was done. Resolving twice is refused."""
    locked = AttentionItem.objects.select_for_update().get(pk=item.pk)
    if AttentionItem.Status.RESOLVED not in AttentionItem.TRANSITIONS[locked.status]:
        if locked.status == AttentionItem.Status.HANDED_OVER:
            raise InvalidTransition(_("“%s” is in the support queue: answer it there.") % locked.summary)
        raise InvalidTransition(_("“%s” is resolved already.") % locked.summary)
    if len(note) > 2000:
        raise ValidationError({"note": _("Keep the note under 2,000 characters.")})
    locked.status = AttentionItem.Status.RESOLVED
    locked.resolved_at = timezone.now()
    locked.resolved_by = actor.user
    locked.resolution_note = note.strip()
    locked.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note", "updated_at"])
    item.__dict__.update(status=locked.status, resolved_at=locked.resolved_at)
    return locked

"""Private follow-ups: a staff member writes to a reviewer, and journeys delivers it like any other message."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import CareRule, Message
from journeys.services.external import message_plan, trigger_has_active_rule
from merchant.actors import Actor
from reviews.message_values import FOLLOW_UP_MAX_LENGTH, FOLLOW_UP_TRIGGER, follow_up_step
from reviews.models import Review, ReviewEvent, ReviewFollowUp
from reviews.services.moderation import review_event_write
from reviews.services.policy import review_rules_default_create


@transaction.atomic
def review_follow_up_send(*, review: Review, actor: Actor, text: str, now: dt.datetime | None = None) -> ReviewFollowUp:
    """Write a private message to the customer who wrote `review`, planned through journeys in this transaction.

    Guarantees: the words are kept exactly as written, with who wrote them and when (`ReviewFollowUp`, and a
    line in the review's history); the message goes out under the shop's *Review follow-up* rule (channel,
    send window, the shop's copy around the words, in the customer's language) as a transactional message,
    so opt-outs are honoured and no marketing consent is needed. Each call sends one message.

    Refused with a ValidationError naming `text`, and nothing stored, when: the text is empty or too long,
    the review has no customer (an imported review), the shop turned the follow-up rule off, or the customer
    cannot be reached (no address, opted out), with the reason.
    """
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the message to the customer.")})
    if len(text) > FOLLOW_UP_MAX_LENGTH:
        raise ValidationError(
            {"text": _("Keep the message under %(max)d characters (it has %(count)d).")
             % {"max": FOLLOW_UP_MAX_LENGTH, "count": len(text)}}
        )  # fmt: skip
    review = Review.objects.select_related("shop", "customer", "order").get(pk=review.pk)
    if review.customer is None:
        raise ValidationError({"text": _("This review has no customer to write to (it was imported).")})
    shop = review.shop
    if not CareRule.objects.filter(shop=shop, trigger=FOLLOW_UP_TRIGGER).exists():
        review_rules_default_create(shop=shop)  # a shop from before follow-ups existed
    if not trigger_has_active_rule(shop_id=shop.pk, trigger=FOLLOW_UP_TRIGGER):
        raise ValidationError(
            {"text": _("The care rule “Review follow-up (private message)” is off; turn it on in Care rules.")}
        )
    follow_up = ReviewFollowUp.objects.create(
        shop=shop,
        review=review,
        customer=review.customer,
        text=text,
        written_by=actor.user,
        written_by_label=actor.label[:200],
        created_at=now,
    )
    messages = message_plan(
        trigger=FOLLOW_UP_TRIGGER,
        shop=shop,
        customer=review.customer,
        order=review.order,
        anchor_at=now,
        step=follow_up_step(follow_up.pk),
        now=now,
    )
    planned = next((message for message in messages if message.status == Message.Status.SCHEDULED), None)
    if planned is None:
        why = messages[0].explanation if messages else _("no rule of the shop applies to this customer.")
        raise ValidationError({"text": _("The message cannot be sent: %s") % why})
    follow_up.message = planned
    follow_up.save(update_fields=["message"])
    review_event_write(
        review=review,
        action=ReviewEvent.Action.FOLLOWED_UP,
        from_status=review.status,
        to_status=review.status,
        actor=actor,
        note=text,
    )
    return follow_up

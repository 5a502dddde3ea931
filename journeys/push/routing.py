"""Which messages go by push, and how the push service should treat them.

The rule, decided by the dispatcher just before sending (so a subscription made or dropped after the
message was planned counts):

- A transactional order-care message of an order with a live subscription goes by push in place of
  the rule's SMS or email: the customer asked, on that order's status page, to hear about it there.
  The rule's channel becomes the fallback, used when push cannot deliver (the push service answers
  404/410 and the subscription is removed, or it refuses for good, or it keeps failing until the
  retries run out). A message push failed for is not tried by push again.
- Only messages with copy for a notification: the rule's own push template, or the shipped copy of
  its trigger (`templates/journeys/messages/<trigger>/<language>.push.txt`, the order-care triggers).
  A rule of another app (a review request, a return's steps) keeps its channel unless its owner
  writes push copy for it.
- Marketing never goes by push: the customer accepted this order's updates, nothing more.
- A rule may name push as its channel (with a fallback); without a live subscription the message
  goes by the fallback at once, as for a customer without a phone number.
"""

import datetime as dt

from journeys.models import Channel, Message, MessageClass, PushSubscription
from journeys.providers.base import PushTarget
from journeys.services.content import push_default_templates

# The channels push takes the place of.
PUSH_IN_PLACE_OF = frozenset({Channel.SMS, Channel.EMAIL})
# The error code of a message handed back to its own channel after push failed (e.g. "push-410"): it is
# not tried by push again, even while the order has a live subscription.
PUSH_FAILED_PREFIX = "push-"
# RFC 8030 urgency: "high" may wake a phone from power saving; kept for news the customer acts on at once.
URGENCY_BY_TRIGGER = {"out_for_delivery": "high"}
DEFAULT_TTL = dt.timedelta(hours=24)
MAX_TTL = dt.timedelta(days=28)  # what push services keep at most
MIN_TTL = dt.timedelta(minutes=1)


def push_copy_exists(message: Message) -> bool:
    """The rule has words for a notification of this message: its own push template, or the shipped copy."""
    rule = message.rule
    if rule is not None and any(template.channel == Channel.PUSH for template in rule.templates.all()):
        return True
    return bool(push_default_templates(message.trigger))


def push_takes_over(message: Message, subscription: PushSubscription | None) -> bool:
    """Whether `message`, planned for SMS or email, goes by push to `subscription` (its order's newest live one)."""
    return (
        subscription is not None
        and message.channel in PUSH_IN_PLACE_OF
        and message.message_class == MessageClass.TRANSACTIONAL
        and message.order_id is not None
        and message.campaign_id is None
        and not message.error_code.startswith(PUSH_FAILED_PREFIX)
        and push_copy_exists(message)
    )


def push_target(message: Message, subscription: PushSubscription, *, now: dt.datetime) -> PushTarget:
    """Where and how: the push service keeps the notification while the message is still useful."""
    ttl = (message.expires_at - now) if message.expires_at else DEFAULT_TTL
    ttl = min(max(ttl, MIN_TTL), MAX_TTL)
    return PushTarget(
        subscription_id=subscription.pk,
        endpoint=subscription.endpoint,
        p256dh=subscription.p256dh,
        auth=subscription.auth,
        ttl=int(ttl.total_seconds()),
        urgency=URGENCY_BY_TRIGGER.get(message.trigger, "normal"),
        # A newer update about the order replaces the older one on the screen.
        tag=f"order-{message.order_id}",
    )

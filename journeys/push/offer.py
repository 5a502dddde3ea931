"""The offer on the order status page: its words, whether it is shown, and what its script needs.

Each order subscribes in a service worker scope of its own (`/o/push/<key>/`), so a browser that
follows two orders holds two subscriptions, one per order, and stopping one leaves the other. The
key is derived from the shop and order (not the link's token, which is fresh in every message), and
tells nobody the order's number.
"""

from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from journeys.push.vapid import vapid_keys
from journeys.status.links import order_status_token_read

OFFER_TEXT = _("Get a notification on this device when your order moves on.")
OFFER_BUTTON = _("Notify me about this order")
TURN_OFF_BUTTON = _("Turn off notifications")


def push_scope(*, order_id: int, shop_id: int) -> str:
    key = salted_hmac("journeys.push-scope", f"{shop_id}:{order_id}", algorithm="sha256").hexdigest()[:24]
    return f"/o/push/{key}/"


def push_offer_context(token: str) -> dict:
    """What the offer's template and script need for the order `token` names; {"offered": False} when none.

    Offered when notifications can be sent (VAPID keys: configured, or made in development) and the
    token is genuine; the page itself decides whether the order is still worth following."""
    keys = vapid_keys()
    read = order_status_token_read(token or "")
    if keys is None or read is None:
        return {"offered": False}
    return {
        "offered": True,
        "public_key": keys.public_key,
        "worker_url": reverse("order-status-push-worker"),
        "scope": push_scope(order_id=read.order_id, shop_id=read.shop_id),
        "subscribe_url": reverse("order-status-push-subscribe", args=[token]),
        "unsubscribe_url": reverse("order-status-push-unsubscribe", args=[token]),
    }

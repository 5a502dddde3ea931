"""Browser notifications (Web Push): a third channel of the journeys engine, offered on the order status page.

A customer who taps "notify me about this order" on the status page gets the order's order-care
updates as browser notifications (`PushSubscription`, one per browser and order). The dispatcher
sends a transactional order-care message of an order with a live subscription by push in place of
the rule's SMS or email, and falls back to the rule's channel when push cannot deliver
(`journeys.push.services.push_route`); a rule may also name push as its channel.

- `vapid.py`: our VAPID key pair (settings, or generated once in development).
- `selectors.py`: which orders have live subscriptions (one query per dispatcher batch).
- `services.py`: subscribing and unsubscribing (with the consent evidence), what the push service's
  answers do to a subscription, and the routing decision.
- `views.py`: the subscribe/unsubscribe endpoints and the service worker, under /o/.
"""

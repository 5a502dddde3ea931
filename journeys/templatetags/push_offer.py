"""`{% push_offer_context as push %}`: what the status page's notification offer needs (journeys.push.offer)."""

from django import template

from journeys.push.offer import push_offer_context as offer_context

register = template.Library()


@register.simple_tag(takes_context=True)
def push_offer_context(context, token: str = "") -> dict:
    """For the token given, else the page's `token`."""
    return offer_context(token or context.get("token") or "")

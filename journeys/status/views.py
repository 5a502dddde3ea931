"""The order status page (being built): opened from `order_status_url`."""

from django.http import Http404

from journeys.status.links import order_status_token_read


def order_status(request, token: str):
    if order_status_token_read(token) is None:
        raise Http404
    raise Http404

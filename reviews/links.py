"""Review links: signed tokens naming one review request of one shop, and the template links that carry them.

The token is `django.core.signing` over (request id, shop id) with its own salt and the moment it
was made: nobody can make one for another request, it names nothing else, and it stops working
`ReviewPolicy.link_valid_days` after the message carrying it was sent (each message, a reminder
too, carries a fresh one). `{{ links.review }}` opens the review page; `{{ links.review_star_1 }}`
to `{{ links.review_star_5 }}` open it with that many stars chosen (GET only pre-fills the form).
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy

from journeys.context import LinkSpec
from journeys.status.actions import StatusAction
from merchant.models import Order
from merchant.signed_links import signed_ids_make, signed_ids_read

SALT = "reviews.review_page"
REVIEW_TRIGGERS = frozenset({"review_request", "review_reminder"})
STARS = range(1, 6)


def review_token(*, request_id: int, shop_id: int) -> str:
    return signed_ids_make(object_id=request_id, shop_id=shop_id, salt=SALT)


def review_url(*, request_id: int, shop_id: int, stars: int | None = None) -> str:
    url = settings.PUBLIC_BASE_URL + reverse("review-page", args=[review_token(request_id=request_id, shop_id=shop_id)])
    return f"{url}?stars={stars}" if stars else url


@dataclass(frozen=True)
class TokenPayload:
    request_id: int
    shop_id: int
    issued_at: dt.datetime  # when the message carrying it was made

    def expires_at(self, *, valid_days: int) -> dt.datetime:
        return self.issued_at + dt.timedelta(days=valid_days)


def token_read(token: str) -> TokenPayload | None:
    """What a genuine token names and when it was made, whatever its age; None for anything tampered or made up."""
    ids = signed_ids_read(token, salt=SALT)
    return None if ids is None else TokenPayload(request_id=ids.object_id, shop_id=ids.shop_id, issued_at=ids.issued_at)


def request_id_of(message) -> int | None:
    """The review request a review message is about, from its step ("review-42", "review-42-reminder-1")."""
    if message.trigger not in REVIEW_TRIGGERS:
        return None
    parts = message.step.split("-")
    return int(parts[1]) if len(parts) >= 2 and parts[0] == "review" and parts[1].isdigit() else None


def _link_maker(stars: int | None):
    def make(message) -> str:
        if message.trigger not in REVIEW_TRIGGERS:
            return ""
        request_id = request_id_of(message)
        if request_id is None:  # a preview in the admin: an example of the link, which opens nothing
            return f"{settings.PUBLIC_BASE_URL}/r/example" + (f"?stars={stars}" if stars else "")
        return review_url(request_id=request_id, shop_id=message.shop_id, stars=stars)

    return make


_WORST_CASE = "https://care.example.com/r/" + "x" * 64
REVIEW_LINKS = [
    LinkSpec(
        name="review",
        description="Review page of the request: stars, words, photos, no login (review requests only)",
        worst_case=_WORST_CASE,
        make=_link_maker(None),
    ),
    *(
        LinkSpec(
            name=f"review_star_{stars}",
            description=f"Review page with {stars} star{'s' if stars > 1 else ''} chosen (review requests only)",
            worst_case=f"{_WORST_CASE}?stars={stars}",
            make=_link_maker(stars),
        )
        for stars in STARS
    ),
]


def _review_page_of_order(order, language: str) -> str:
    """The review page of the order's first request still open or answered (the customer may edit their review
    until the link expires); "" before a request exists (it is made when the order is delivered). One query."""
    from reviews.models import ReviewRequest

    request_id = (
        ReviewRequest.objects.filter(
            order_id=order.pk,
            shop_id=order.shop_id,
            status__in=[ReviewRequest.Status.OPEN, ReviewRequest.Status.REVIEWED],
        )
        .order_by("due_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    return review_url(request_id=request_id, shop_id=order.shop_id) if request_id else ""


def review_status_action() -> StatusAction:
    """The order status page's "Write a review" (journeys.status.actions), offered once the order is delivered."""
    return StatusAction(
        name="review",
        label=gettext_lazy("Write a review"),
        make=_review_page_of_order,
        order_statuses=frozenset({Order.Status.DELIVERED, Order.Status.PARTIALLY_REFUNDED}),
    )

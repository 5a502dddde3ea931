"""What the customer pages of a review link read: the request, its shop, order, items, the customer's answers.

Read in hand-written SQL into plain values (as the journeys planner reads its rules): building the same
reads with the ORM (a query of five joins, a prefetch of items and reviews, then of photos) cost ten times
the SQL itself and most of the page's time. Two statements, three once a review has been written; their text
is constant, so PostgreSQL prepares them once per connection (`journeys.prepared_statements`).
"""

from dataclasses import dataclass, field

from django.conf import settings

from journeys.prepared_statements import prepared_cursor
from reviews.models import ReviewPolicy, ReviewRequest


@dataclass(frozen=True)
class PageShop:
    id: int
    name: str
    default_language: str
    contact_email: str


@dataclass(frozen=True)
class PagePolicy:
    """The part of the shop's `ReviewPolicy` the customer pages use (its defaults for a shop without one)."""

    link_valid_days: int
    coupon_code: str
    coupon_description: str
    nps_interval_days: int


@dataclass(frozen=True)
class PageMedia:
    id: int
    kind: str  # ReviewMedia.Kind


@dataclass(frozen=True)
class PageReview:
    id: int
    rating: int
    title: str
    text: str
    reply_text: str
    status: str  # Review.Status
    product_title: str
    media: list[PageMedia] = field(default_factory=list)


@dataclass(frozen=True)
class PageItem:
    id: int
    title: str
    review: PageReview | None  # the customer's review of it, whatever its status


@dataclass(frozen=True)
class PageNps:
    score: int
    comment: str


@dataclass
class ReviewPage:
    request_id: int
    status: str  # ReviewRequest.Status
    coupon_code: str  # the coupon given with the first review ("" before)
    customer_id: int
    shop: PageShop
    policy: PagePolicy
    order_number: str
    order_language: str
    customer_language: str
    nps: PageNps | None  # the NPS answer given on this request's page
    shop_asks_survey: bool  # the shop has active survey questions
    items: list[PageItem]

    @property
    def reviewed(self) -> bool:
        return self.status == ReviewRequest.Status.REVIEWED

    @property
    def cancelled(self) -> bool:
        return self.status == ReviewRequest.Status.CANCELLED

    @property
    def language(self) -> str:
        """The language the pages speak: the order's, the customer's, the shop's, else the site default."""
        available = {code for code, _name in settings.LANGUAGES}
        for language in (self.order_language, self.customer_language, self.shop.default_language):
            if language in available:
                return language
        return settings.LANGUAGE_CODE


_REQUEST_SQL = """
SELECT r.status, r.coupon_code, r.customer_id,
       s.name, s.default_language, s.contact_email,
       o.number, o.language, c.language,
       p.id, p.link_valid_days, p.coupon_code, p.coupon_description, p.nps_interval_days,
       n.id, n.score, n.comment,
       EXISTS (SELECT 1 FROM reviews_surveyquestion q WHERE q.shop_id = r.shop_id AND q.is_active)
FROM reviews_reviewrequest r
JOIN merchant_merchant s ON s.id = r.shop_id
JOIN merchant_order o ON o.id = r.order_id
JOIN merchant_customer c ON c.id = r.customer_id
LEFT JOIN reviews_reviewpolicy p ON p.shop_id = r.shop_id
LEFT JOIN reviews_npsresponse n ON n.request_id = r.id
WHERE r.id = %s AND r.shop_id = %s
"""

_ITEMS_SQL = """
SELECT i.id, i.title, v.id, v.rating, v.title, v.text, v.reply_text, v.status, v.product_title
FROM reviews_reviewrequestitem i
LEFT JOIN reviews_review v ON v.item_id = i.id
WHERE i.request_id = %s
ORDER BY i.id
"""

_MEDIA_SQL = """
SELECT m.review_id, m.id, m.kind
FROM reviews_reviewmedia m
JOIN reviews_review v ON v.id = m.review_id
WHERE v.request_id = %s
ORDER BY m.id
"""


def _policy_defaults() -> PagePolicy:
    fields = ReviewPolicy._meta
    return PagePolicy(
        link_valid_days=fields.get_field("link_valid_days").get_default(),
        coupon_code=fields.get_field("coupon_code").get_default(),
        coupon_description=fields.get_field("coupon_description").get_default(),
        nps_interval_days=fields.get_field("nps_interval_days").get_default(),
    )


def review_page_get(*, request_id: int, shop_id: int) -> ReviewPage | None:
    """The request a review link names, only if it belongs to that shop, with what its pages show: the shop and
    its review policy, the order's number, the languages to choose from, this page's NPS answer, whether the
    shop asks survey questions, the items (by id) with the customer's reviews and their photos and videos.
    None for any other pair of ids. 2 queries, 3 once a review has been written."""
    with prepared_cursor() as cursor:
        cursor.execute(_REQUEST_SQL, [request_id, shop_id])
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(_ITEMS_SQL, [request_id])
        item_rows = cursor.fetchall()
        media: dict[int, list[PageMedia]] = {}
        if any(item_row[2] is not None for item_row in item_rows):
            cursor.execute(_MEDIA_SQL, [request_id])
            for review_id, media_id, kind in cursor.fetchall():
                media.setdefault(review_id, []).append(PageMedia(id=media_id, kind=kind))
    (status, coupon_code, customer_id, shop_name, shop_language, contact_email, order_number, order_language,
     customer_language, policy_id, link_valid_days, policy_coupon, coupon_description, nps_interval_days,
     nps_id, nps_score, nps_comment, asks_survey) = row  # fmt: skip
    policy = (
        _policy_defaults()
        if policy_id is None
        else PagePolicy(
            link_valid_days=link_valid_days,
            coupon_code=policy_coupon,
            coupon_description=coupon_description,
            nps_interval_days=nps_interval_days,
        )
    )
    items = [
        PageItem(
            id=item_id,
            title=item_title,
            review=None
            if review_id is None
            else PageReview(
                id=review_id,
                rating=rating,
                title=title,
                text=text,
                reply_text=reply_text,
                status=review_status,
                product_title=product_title,
                media=media.get(review_id, []),
            ),
        )
        for item_id, item_title, review_id, rating, title, text, reply_text, review_status, product_title in item_rows
    ]
    return ReviewPage(
        request_id=request_id,
        status=status,
        coupon_code=coupon_code,
        customer_id=customer_id,
        shop=PageShop(id=shop_id, name=shop_name, default_language=shop_language, contact_email=contact_email),
        policy=policy,
        order_number=order_number,
        order_language=order_language,
        customer_language=customer_language,
        nps=None if nps_id is None else PageNps(score=nps_score, comment=nps_comment),
        shop_asks_survey=bool(asks_survey),
        items=items,
    )

"""The write path of return requests: asked for in the portal, judged by the policy or a person, sent back,
received, inspected; or declined, cancelled, expired.

Every step locks the order first, then the request (a fixed order: two steps on one order wait for each
other), moves the status through `returns.transitions.status_move` (which audits it with its actor), and
plans the customer's message through journeys in the same transaction. A step the lifecycle does not
allow raises `InvalidTransition` and changes nothing; bad input raises a ValidationError naming the field.
Turning an inspected return into a refund belongs to the refunds part, which ends with
`return_request_resolve`.
"""

from returns.services.requests.asking import (
    PHOTO_REASONS,
    PHOTOS_PER_REQUEST,
    LineChoice,
    ReviewReason,
    return_request_create,
)
from returns.services.requests.steps import (
    DECLINE_MESSAGE_MAX,
    LineInspection,
    return_request_approve,
    return_request_cancel,
    return_request_close_without_outcome,
    return_request_decline,
    return_request_expire,
    return_request_inspect,
    return_request_mark_in_transit,
    return_request_mark_received,
    return_request_resolve,
    return_requests_expire_due,
)

__all__ = [
    "DECLINE_MESSAGE_MAX",
    "PHOTOS_PER_REQUEST",
    "PHOTO_REASONS",
    "LineChoice",
    "LineInspection",
    "ReviewReason",
    "return_request_approve",
    "return_request_cancel",
    "return_request_close_without_outcome",
    "return_request_create",
    "return_request_decline",
    "return_request_expire",
    "return_request_inspect",
    "return_request_mark_in_transit",
    "return_request_mark_received",
    "return_request_resolve",
    "return_requests_expire_due",
]

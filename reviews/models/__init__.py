"""Reviews: the request policy, review requests, reviews with their media, NPS answers, and what needs a person.

Split by sub-domain; every model is importable from `reviews.models`. Status fields move only
along the `TRANSITIONS` declared on each model, through `reviews.services`.
"""

from reviews.models.feedback import AttentionItem, NpsResponse
from reviews.models.policy import ReviewDelay, ReviewPolicy, ReviewPolicyChange
from reviews.models.requests import ReviewRequest, ReviewRequestItem
from reviews.models.reviews import Review, ReviewEvent, ReviewMedia

__all__ = [
    "AttentionItem",
    "NpsResponse",
    "Review",
    "ReviewDelay",
    "ReviewEvent",
    "ReviewMedia",
    "ReviewPolicy",
    "ReviewPolicyChange",
    "ReviewRequest",
    "ReviewRequestItem",
]

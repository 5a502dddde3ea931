"""Reviews: the request policy, review requests, reviews with their media, NPS and survey answers, what needs a
person, private follow-ups and referrals.

Split by sub-domain; every model is importable from `reviews.models`. Status fields move only
along the `TRANSITIONS` declared on each model, through `reviews.services`.
"""

from reviews.models.feedback import AttentionItem, NpsResponse
from reviews.models.follow_ups import ReviewFollowUp
from reviews.models.policy import ReviewDelay, ReviewPolicy, ReviewPolicyChange
from reviews.models.referrals import ReferralInvitation, ReferralReward
from reviews.models.requests import ReviewRequest, ReviewRequestItem
from reviews.models.reviews import Review, ReviewEvent, ReviewMedia
from reviews.models.surveys import SurveyAnswer, SurveyQuestion, SurveyQuestionText

__all__ = [
    "AttentionItem",
    "NpsResponse",
    "ReferralInvitation",
    "ReferralReward",
    "Review",
    "ReviewDelay",
    "ReviewEvent",
    "ReviewFollowUp",
    "ReviewMedia",
    "ReviewPolicy",
    "ReviewPolicyChange",
    "ReviewRequest",
    "ReviewRequestItem",
    "SurveyAnswer",
    "SurveyQuestion",
    "SurveyQuestionText",
]

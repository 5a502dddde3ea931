"""Admin of reviews, scoped to the shops a person belongs to (merchant.admin.tenancy).

Reviews are read-only except the public reply: staff publish or hide them (hiding needs an allowed
reason) through actions that call `reviews.services`, never change stars or words, and may write the
reviewer a private message. Also: the "needs attention" list, review requests (read-only,
cancellable), NPS answers and the NPS panel, survey questions and answers, referral invitations and
rewards, and the request policy with its per-product and per-category delays.
"""

from reviews.admin import feedback, policy, referrals, reviews, surveys

__all__ = ["feedback", "policy", "referrals", "reviews", "surveys"]

"""Values reviews adds to the template context of its own messages (journeys.context.value_register).

`{{ staff_message }}`: the words a staff member wrote for a private follow-up (trigger `review_follow_up`).
`{{ referral_code }}`, `{{ referral_offer }}`, `{{ referral_reward }}`: a referral invitation's personal
code and what the policy says a friend and the referrer get (trigger `referral_invitation`).
Each maker answers "" without a query for any other message, and finds its row from the message's
step ("followup-7", "referral-3"), within the message's shop.
"""

from journeys.context import ValueSpec

FOLLOW_UP_TRIGGER = "review_follow_up"
REFERRAL_TRIGGER = "referral_invitation"
FOLLOW_UP_MAX_LENGTH = 1000


def follow_up_step(follow_up_id: int) -> str:
    return f"followup-{follow_up_id}"


def referral_step(invitation_id: int) -> str:
    return f"referral-{invitation_id}"


def _step_id(message, prefix: str) -> int | None:
    parts = message.step.split("-")
    return int(parts[1]) if len(parts) == 2 and parts[0] == prefix and parts[1].isdigit() else None


def _staff_message(message) -> str:
    if message.trigger != FOLLOW_UP_TRIGGER:
        return ""
    from reviews.models import ReviewFollowUp

    follow_up_id = _step_id(message, "followup")
    if follow_up_id is None:  # a preview in the admin
        return "Thank you for telling us. We are sorry the zip broke: a replacement is on its way."
    return (
        ReviewFollowUp.objects.filter(pk=follow_up_id, shop_id=message.shop_id).values_list("text", flat=True).first()
        or ""
    )


def _referral(message) -> tuple[str, str, str]:
    """(code, friend offer, referrer reward) of a referral invitation; ("", "", "") for other messages."""
    if message.trigger != REFERRAL_TRIGGER:
        return "", "", ""
    cached = getattr(message, "_referral_values", None)
    if cached is not None:
        return cached
    from reviews.models import ReferralInvitation, ReviewPolicy

    invitation_id = _step_id(message, "referral")
    code = (
        ReferralInvitation.objects.filter(pk=invitation_id, shop_id=message.shop_id)
        .values_list("code", flat=True)
        .first()
        if invitation_id is not None
        else "FRIEND-7K3QXM"  # a preview in the admin
    )
    offer, reward = (
        ReviewPolicy.objects.filter(shop_id=message.shop_id)
        .values_list("referral_friend_offer", "referral_reward")
        .first()
    ) or ("", "")
    message._referral_values = (code or "", offer, reward)
    return message._referral_values


REVIEW_VALUES = [
    ValueSpec(
        name="staff_message",
        description="Review follow-ups: the words the staff member wrote",
        worst_case="W" * FOLLOW_UP_MAX_LENGTH,
        make=_staff_message,
        triggers=frozenset({FOLLOW_UP_TRIGGER}),
    ),
    ValueSpec(
        name="referral_code",
        description="Referral invitations: the customer's personal code",
        worst_case="FRIENDSOFSHOP-7K3QXM",
        make=lambda message: _referral(message)[0],
    ),
    ValueSpec(
        name="referral_offer",
        description="Referral invitations: what a friend gets with the code (review policy)",
        worst_case="x" * 200,
        make=lambda message: _referral(message)[1],
    ),
    ValueSpec(
        name="referral_reward",
        description="Referral invitations: what the customer gets for each friend who orders (review policy)",
        worst_case="x" * 200,
        make=lambda message: _referral(message)[2],
    ),
]

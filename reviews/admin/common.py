"""What the admin modules of reviews share: the roles' permissions, read-only inlines, how refusals are shown."""

from django.contrib import messages
from django.utils.translation import gettext as _

from merchant.admin.tenancy import CHANGE, VIEW, Role
from merchant.admin.tenancy import ReadOnlyInline as BaseReadOnlyInline

MODERATE = "moderate"
RESOLVE = "resolve"
CANCEL = "cancel"
IMPORT = "import"
# Both roles answer unhappy customers; owners also set the policy and import reviews.
STAFF_WORK = {
    Role.OWNER: frozenset({VIEW, CHANGE, MODERATE, RESOLVE, CANCEL, IMPORT}),
    Role.AGENT: frozenset({VIEW, CHANGE, MODERATE, RESOLVE, CANCEL}),
}


def stars_display(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def refusals_show(modeladmin, request, done: int, refusals: list[str], words: str) -> None:
    if done:
        modeladmin.message_user(request, words % done, messages.SUCCESS)
    for refusal in refusals:
        modeladmin.message_user(request, _("Refused: %s") % refusal, messages.ERROR)


class ReadOnlyInline(BaseReadOnlyInline):
    role_permissions = STAFF_WORK

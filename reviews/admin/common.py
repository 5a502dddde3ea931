"""What the admin modules of reviews share: the roles' permissions, read-only inlines, how refusals are shown."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _

from merchant.admin.tenancy import CHANGE, VIEW, Role, ShopScopedMixin

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


class ParentShopMixin(ShopScopedMixin):
    def shop_id_of(self, obj):
        # Permission checks of an inline receive the parent row, which carries its shop.
        return obj.shop_id if hasattr(obj, "shop_id") else super().shop_id_of(obj)


class ReadOnlyInline(ParentShopMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    role_permissions = STAFF_WORK

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

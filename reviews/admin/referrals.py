"""Referral invitations (the personal codes, read-only) and the rewards their codes earned (give or cancel)."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext

from merchant.actors import Actor
from merchant.admin.tenancy import ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition
from reviews.admin.common import RESOLVE, STAFF_WORK, refusals_show
from reviews.models import ReferralInvitation, ReferralReward
from reviews.services.referrals import referral_reward_cancel, referral_reward_give


class ReadOnlyAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReferralInvitation)
class ReferralInvitationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "code", "customer", "reason", "message_status", "reward_count", "shop")
    list_filter = ("reason", ("shop", ShopListFilter))
    list_select_related = ("shop", "customer", "message")
    search_fields = ("code", "customer__email")
    fields = ("shop", "code", "customer", "reason", "review", "nps", "message_status", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(reward_total=Count("rewards"))

    @admin.display(description=gettext_lazy("message"))
    def message_status(self, invitation: ReferralInvitation) -> str:
        if invitation.message_id is None:
            return "—"
        url = reverse("admin:journeys_message_change", args=[invitation.message_id])
        return format_html('<a href="{}">{}</a>', url, invitation.message.get_status_display())

    @admin.display(description=gettext_lazy("rewards"), ordering="reward_total")
    def reward_count(self, invitation: ReferralInvitation) -> str:
        url = reverse("admin:reviews_referralreward_changelist") + f"?invitation__id__exact={invitation.pk}"
        return format_html('<a href="{}">{}</a>', url, invitation.reward_total)


@admin.register(ReferralReward)
class ReferralRewardAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "referrer", "code", "order", "referred_customer", "reward", "status", "shop")
    list_filter = ("status", ("shop", ShopListFilter))
    list_select_related = ("shop", "referrer", "order", "referred_customer")
    search_fields = ("code", "referrer__email", "order__number", "referred_customer__email")
    actions = ("give_rewards", "cancel_rewards")
    fields = (
        "shop",
        "referrer",
        "code",
        "order",
        "referred_customer",
        "reward",
        "status",
        "status_changed_at",
        "changed_by",
        "note",
        "created_at",
    )
    readonly_fields = fields

    def has_resolve_permission(self, request, obj=None):
        return request.user.is_superuser or self._role_allows(request, RESOLVE, obj)

    def _apply(self, request, queryset, service, words):
        actor = Actor.staff(request.user)
        done, refusals = 0, []
        for reward in queryset:
            try:
                service(reward=reward, actor=actor)
            except InvalidTransition as error:
                refusals.append(str(error))
            else:
                done += 1
        refusals_show(self, request, done, refusals, words(done))

    @admin.action(description=gettext_lazy("Mark selected rewards as given"), permissions=[RESOLVE])
    def give_rewards(self, request, queryset):
        self._apply(
            request, queryset, referral_reward_give, lambda n: ngettext("%d reward given.", "%d rewards given.", n)
        )

    @admin.action(description=gettext_lazy("Cancel selected rewards"), permissions=[RESOLVE])
    def cancel_rewards(self, request, queryset):
        self._apply(
            request,
            queryset,
            referral_reward_cancel,
            lambda n: ngettext("%d reward cancelled.", "%d rewards cancelled.", n),
        )

"""The review request policy in the admin: timing, reminders, coupon, NPS frequency, referrals; audited."""

from django.contrib import admin
from django.utils.translation import gettext_lazy

from merchant.actors import Actor
from merchant.admin.tenancy import ADD, CHANGE, VIEW, ParentShopMixin, Role, ShopScopedAdmin
from reviews.admin.common import ReadOnlyInline
from reviews.models import (
    ReviewDelay,
    ReviewPolicy,
    ReviewPolicyChange,
)
from reviews.services.policy import (
    AUDITED_FIELDS,
    review_delay_save,
    review_policy_get_or_create,
    review_policy_update,
    review_rules_default_create,
)

OWNER_EDITS = {Role.OWNER: frozenset({VIEW, ADD, CHANGE}), Role.AGENT: frozenset({VIEW})}


class ReviewDelayInline(ParentShopMixin, admin.TabularInline):
    model = ReviewDelay
    shop_path = "policy__shop"
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, "delete"}), Role.AGENT: frozenset({VIEW})}
    extra = 1
    fields = ("category", "product", "delay_days")
    verbose_name_plural = gettext_lazy(
        "Ask sooner or later for some products (a product's delay wins over its category's)"
    )


class ReviewPolicyChangeInline(ReadOnlyInline):
    model = ReviewPolicyChange
    shop_path = "policy__shop"
    role_permissions = OWNER_EDITS
    fields = ("at", "field", "old_value", "new_value", "actor_label")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Changes (kept as evidence)")


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(ShopScopedAdmin):
    role_permissions = OWNER_EDITS
    list_display = ("shop", "default_delay_days", "customer_cap_days", "reminder_count", "coupon_summary")
    list_select_related = ("shop",)
    inlines = (ReviewDelayInline, ReviewPolicyChangeInline)
    fieldsets = (
        (None, {"fields": ("shop",)}),
        (
            gettext_lazy("When to ask"),
            {"fields": ("default_delay_days", ("customer_cap_days", "product_cap_days"), "link_valid_days")},
        ),
        (gettext_lazy("Reminders"), {"fields": (("reminder_count", "reminder_after_days"),)}),
        (gettext_lazy("Unhappy customers"), {"fields": ("attention_hours",)}),
        (gettext_lazy("NPS and survey questions"), {"fields": ("nps_interval_days",)}),
        (
            gettext_lazy("Referrals"),
            {
                "fields": ("referrals_enabled", "referral_code_prefix", "referral_friend_offer", "referral_reward"),
                "description": gettext_lazy(
                    "Sent after the review is stored and never mentioned on the review page: the review and its "
                    "coupon stay the same whatever the stars. The “Referral invitation” care rule gives channel, "
                    "hours and copy. Create the codes in your shop platform too (they are listed under Referral "
                    "invitations), so friends can use them at checkout."
                ),
            },
        ),
        (
            gettext_lazy("Thank-you coupon"),
            {
                "fields": ("coupon_code", "coupon_description"),
                "description": gettext_lazy(
                    "Given for every honest review, whatever its rating (US FTC rule 16 CFR 465.4); reviews written "
                    "with it are marked as incentivized."
                ),
            },
        ),
    )

    @admin.display(description=gettext_lazy("coupon"))
    def coupon_summary(self, policy: ReviewPolicy) -> str:
        return policy.coupon_code or "—"

    def save_model(self, request, obj, form, change):
        actor = Actor.staff(request.user)
        changes = {name: form.cleaned_data[name] for name in AUDITED_FIELDS if name in form.cleaned_data}
        policy = obj if change else review_policy_get_or_create(shop=obj.shop)
        saved = review_policy_update(policy=ReviewPolicy.objects.get(pk=policy.pk), actor=actor, **changes)
        obj.pk, obj.id = saved.pk, saved.pk
        # A shop created before reviews existed gets its review rules (off) when its owner sets the policy.
        review_rules_default_create(shop=saved.shop)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ReviewDelay:
            return super().save_formset(request, form, formset, change)
        for delay in formset.save(commit=False):
            delay.policy = form.instance
            review_delay_save(delay=delay)
        for removed in formset.deleted_objects:
            removed.delete()
        return None

"""Channels: each shop's SMS account (credentials write-only), the texts customers send back, and the browsers
that asked for an order's notifications."""

from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from journeys.forms import SmsAccountForm
from journeys.models import InboundSms, PushSubscription, SmsAccount
from journeys.selectors import sms_accounts_with_sent_today
from journeys.services.inbound_sms import inbound_sms_not_opt_out, inbound_sms_opt_out
from journeys.services.sms_accounts import sms_account_save
from merchant.admin.tenancy import ADD, CHANGE, VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition

HANDLE = "handle"


@admin.register(SmsAccount)
class SmsAccountAdmin(ShopScopedAdmin):
    form = SmsAccountForm
    # Credentials are the owner's business; agents do not see the accounts at all.
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE})}
    list_display = (
        "label",
        "account_sid",
        "sender",
        "rate_per_second",
        "daily_cap",
        "sent_today",
        "is_active",
        "token",
        "shop",
    )
    list_filter = ("is_active", ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("label", "account_sid", "from_number", "messaging_service_sid")
    readonly_fields = ("token", "sent_today", "webhook_urls")

    def get_queryset(self, request):
        return sms_accounts_with_sent_today(super().get_queryset(request), now=timezone.now())

    def get_fieldsets(self, request, obj=None):
        twilio = ["account_sid", "new_auth_token", "from_number", "messaging_service_sid"]
        if obj is not None:
            twilio.insert(1, "token")
        return [
            (None, {"fields": ["shop", "label", "is_active"]}),
            (_("Twilio"), {"fields": twilio}),
            (_("Limits"), {"fields": ["rate_per_second", "daily_cap", *(["sent_today"] if obj else []), "base_url"]}),
            (_("Cost estimate"), {"fields": ["price_per_segment", "price_currency"]}),
            (_("Addresses to enter in Twilio"), {"fields": ["webhook_urls"]}),
        ]

    @admin.display(description=_("sender"))
    def sender(self, account: SmsAccount) -> str:
        return account.sender

    @admin.display(description=_("sent today (UTC)"))
    def sent_today(self, account: SmsAccount) -> str:
        sent = account.sent_today or 0
        return f"{sent} / {account.daily_cap}" if account.daily_cap else str(sent)

    @admin.display(description=_("auth token"))
    def token(self, account: SmsAccount) -> str:
        # Whether one is saved, never any part of it.
        return _("saved (hidden)") if account.auth_token else _("missing")

    @admin.display(description=_("webhooks"))
    def webhook_urls(self, account: SmsAccount | None = None) -> str:
        base = (getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
        return format_html(
            "{}: <code>{}</code><br>{}: <code>{}</code>",
            _("Incoming messages (the number's or messaging service's webhook, HTTP POST)"),
            base + reverse("webhook-twilio-inbound"),
            _("Status callbacks (sent with every message; nothing to configure)"),
            base + reverse("webhook-twilio-status"),
        )

    @method_decorator(sensitive_post_parameters("new_auth_token"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # An error report (DEBUG page, mail to admins) shows the typed token as stars.
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        sms_account_save(account=obj, auth_token=form.cleaned_data.get("new_auth_token") or "")


class WaitingFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("waiting", _("Waiting for a person")), ("handled", _("Handled"))]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(handled_at__isnull=True, kind=InboundSms.Kind.POSSIBLE_OPT_OUT)
        if self.value() == "handled":
            return queryset.filter(handled_at__isnull=False)
        return queryset


@admin.register(InboundSms)
class InboundSmsAdmin(ShopScopedAdmin):
    """Read-only list of texts; people only decide about the ones that may mean "stop"."""

    role_permissions = {Role.OWNER: frozenset({VIEW, HANDLE}), Role.AGENT: frozenset({VIEW, HANDLE})}
    list_display = ("received_at", "kind", "from_number", "customer_link", "body", "state", "shop")
    list_filter = (WaitingFilter, "kind", "resolution", ("shop", ShopListFilter))
    list_select_related = ("shop", "customer")
    search_fields = ("body", "from_number", "customer__email", "customer__last_name")
    date_hierarchy = "received_at"
    actions = ("opt_out", "not_an_opt_out")
    fields = (
        "shop",
        "customer",
        "kind",
        "body",
        ("from_number", "to_number"),
        "received_at",
        ("resolution", "handled_at", "handled_by"),
        "provider_message_id",
        "event",
    )
    readonly_fields = (
        "shop", "customer", "kind", "body", "from_number", "to_number", "received_at", "resolution", "handled_at",
        "handled_by", "provider_message_id", "event",
    )  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_handle_permission(self, request, obj=None):
        return request.user.is_superuser or self._role_allows(request, HANDLE, obj)

    @admin.display(description=_("customer"), ordering="customer__last_name")
    def customer_link(self, text: InboundSms) -> str:
        if text.customer is None:
            return _("unknown number")
        url = reverse("admin:merchant_customer_change", args=[text.customer_id])
        return format_html('<a href="{}">{}</a>', url, text.customer)

    @admin.display(description=_("state"))
    def state(self, text: InboundSms) -> str:
        if text.resolution:
            return text.get_resolution_display()
        return _("Waiting for a person") if text.kind == InboundSms.Kind.POSSIBLE_OPT_OUT else "—"

    def _decide(self, request, queryset, service, singular: str, plural: str) -> None:
        done, refusals = 0, []
        for text in queryset.select_related("shop", "customer"):
            if not self.has_handle_permission(request, text):
                refusals.append(_("You may not handle texts of %s.") % text.shop)
                continue
            try:
                service(text=text, user=request.user)
            except InvalidTransition as error:
                refusals.append(str(error))
            else:
                done += 1
        if done:
            self.message_user(request, ngettext(singular, plural, done) % done, messages.SUCCESS)
        for refusal in refusals:
            self.message_user(request, _("Refused: %s") % refusal, messages.ERROR)

    @admin.action(description=_("Opt out: the customer gets no more texts"), permissions=[HANDLE])
    def opt_out(self, request, queryset):
        self._decide(request, queryset, inbound_sms_opt_out, "%d customer opted out.", "%d customers opted out.")

    @admin.action(description=_("Not an opt-out"), permissions=[HANDLE])
    def not_an_opt_out(self, request, queryset):
        self._decide(
            request,
            queryset,
            inbound_sms_not_opt_out,
            "%d text marked as not an opt-out.",
            "%d texts marked as not an opt-out.",
        )


class PushStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "push_state"

    def lookups(self, request, model_admin):
        return [("live", _("Live")), ("removed", _("Removed"))]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(removed_at__isnull=True)
        if self.value() == "removed":
            return queryset.filter(removed_at__isnull=False)
        return queryset


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ShopScopedAdmin):
    """Read-only: browsers that asked for an order's notifications. Customers turn them on and off themselves."""

    role_permissions = {Role.OWNER: frozenset({VIEW}), Role.AGENT: frozenset({VIEW})}
    list_display = ("created_at", "order_link", "customer", "service", "language", "last_success_at", "state", "shop")
    list_filter = (PushStateFilter, "removed_reason", ("shop", ShopListFilter))
    list_select_related = ("shop", "customer", "order")
    search_fields = ("order__number", "customer__email", "customer__last_name")
    date_hierarchy = "created_at"
    # The endpoint and keys are left out: with them anyone holding our VAPID key could notify the browser.
    fields = (
        "shop",
        ("order", "customer"),
        "service",
        ("language", "user_agent"),
        ("created_at", "last_success_at", "expires_at"),
        ("removed_at", "removed_reason"),
    )
    readonly_fields = fields[:1] + (
        "order", "customer", "service", "language", "user_agent", "created_at", "last_success_at", "expires_at",
        "removed_at", "removed_reason",
    )  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, subscription: PushSubscription) -> str:
        url = reverse("admin:merchant_order_change", args=[subscription.order_id])
        return format_html('<a href="{}">{}</a>', url, subscription.order.number)

    @admin.display(description=_("push service"))
    def service(self, subscription: PushSubscription) -> str:
        return subscription.address

    @admin.display(description=_("state"))
    def state(self, subscription: PushSubscription) -> str:
        if subscription.removed_at is None:
            return _("Live")
        return subscription.get_removed_reason_display()

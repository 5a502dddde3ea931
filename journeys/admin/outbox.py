"""The outbox, read-only: what was planned, sent or skipped, and why. People only cancel scheduled rows."""

from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from journeys.admin.rules import TriggerFilter
from journeys.models import Message
from journeys.selectors import message_trigger_label
from journeys.services.outbox import message_cancel
from merchant.admin.tenancy import VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition

CANCEL = "cancel"


def _moment(value, time_zone: str) -> str:
    if value is None:
        return "—"
    local = timezone.localtime(value, ZoneInfo(time_zone))
    return f"{date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"


@admin.register(Message)
class MessageAdmin(ShopScopedAdmin):
    role_permissions = {Role.OWNER: frozenset({VIEW, CANCEL}), Role.AGENT: frozenset({VIEW, CANCEL})}
    list_display = (
        "send_at_shop",
        "status",
        "reason",
        "trigger_label",
        "channel",
        "recipient",
        "order_link",
        "attempts",
        "shop",
    )
    list_filter = ("status", TriggerFilter, "channel", "reason", ("shop", ShopListFilter))
    list_select_related = ("shop", "customer", "order")
    date_hierarchy = "send_at"
    search_fields = ("order__number", "customer__email", "customer__phone", "address", "=idem_key")
    actions = ("cancel_messages",)
    change_form_template = "admin/journeys/message/change_form.html"
    readonly_fields = ("trigger_label", "send_at_customer", "html_preview", "lease")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "shop",
                    ("status", "reason"),
                    ("trigger_label", "rule", "step"),
                    ("customer", "order"),
                    ("channel", "fallback_channel", "address"),
                    ("language", "time_zone", "message_class"),
                )
            },
        ),
        (_("Why"), {"fields": ("explanation", ("error_code", "error"))}),
        (
            _("Times"),
            {
                "fields": (
                    ("anchor_at", "not_before"),
                    ("send_at", "send_at_customer"),
                    "expires_at",
                    ("sent_at", "delivered_at", "opened_at", "clicked_at"),
                    "finished_at",
                    ("created_at", "updated_at"),
                )
            },
        ),
        (_("What was sent"), {"fields": ("subject", "body", "html_preview", ("segments", "coupon_code"))}),
        (
            _("Delivery"),
            {"fields": (("attempts", "max_attempts"), "lease", ("provider", "provider_message_id"), "idem_key")},
        ),
    )

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": _("Outbox: every message planned, sent or skipped"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # --- read-only for everybody: rows are written by the planner and the dispatcher -----------------
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request, obj=None):
        return request.user.is_superuser or self._role_allows(request, CANCEL, obj)

    # --- columns -----------------------------------------------------------------------------------
    @admin.display(description=_("send at (shop time)"), ordering="send_at")
    def send_at_shop(self, message: Message) -> str:
        return _moment(message.send_at, message.shop.time_zone)

    @admin.display(description=_("send at (customer time)"))
    def send_at_customer(self, message: Message) -> str:
        return _moment(message.send_at, message.time_zone)

    @admin.display(description=_("trigger"), ordering="trigger")
    def trigger_label(self, message: Message) -> str:
        return message_trigger_label(message.trigger)

    @admin.display(description=_("to"))
    def recipient(self, message: Message) -> str:
        return message.address or (str(message.customer) if message.customer_id else "—")

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, message: Message) -> str:
        if not message.order_id:
            return "—"
        url = reverse("admin:merchant_order_change", args=[message.order_id])
        return format_html('<a href="{}">{}</a>', url, message.order.number)

    @admin.display(description=_("HTML as sent"))
    def html_preview(self, message: Message) -> str:
        if not message.html_body:
            return "—"
        # srcdoc is escaped by format_html; the empty sandbox runs no script and reaches no cookie.
        return format_html(
            '<iframe sandbox="" srcdoc="{}" title="{}" class="message-html"></iframe>', message.html_body, _("Email")
        )

    @admin.display(description=_("lease"))
    def lease(self, message: Message) -> str:
        if not message.lease_owner and not message.lease_until:
            return _("not leased")
        return _("%(owner)s until %(until)s") % {
            "owner": message.lease_owner or "?",
            "until": _moment(message.lease_until, message.shop.time_zone),
        }

    # --- cancelling ----------------------------------------------------------------------------------
    @admin.action(description=_("Cancel selected scheduled messages"), permissions=[CANCEL])
    def cancel_messages(self, request, queryset):
        who = request.user.get_username()
        done, refusals = 0, []
        for message in queryset.select_related("customer", "shop"):
            if not self.has_cancel_permission(request, message):
                refusals.append(_("You may not cancel messages of %s.") % message.shop)
                continue
            try:
                message_cancel(message=message, actor_label=who)
            except InvalidTransition as error:
                refusals.append(str(error))
            else:
                done += 1
        if done:
            self.message_user(request, ngettext("%d message cancelled.", "%d messages cancelled.", done) % done)
        for refusal in refusals:
            self.message_user(request, _("Refused: %s") % refusal, messages.ERROR)

    def response_action(self, request, queryset):
        # Cancelling from a message's own page returns there.
        response = super().response_action(request, queryset)
        message_id = request.POST.get("_return_to_message", "")
        if message_id.isdigit() and isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(reverse("admin:journeys_message_change", args=[message_id]))
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_cancel"] = (
            obj is not None and obj.status == Message.Status.SCHEDULED and self.has_cancel_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

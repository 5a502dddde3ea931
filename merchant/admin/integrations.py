"""What comes in from the shop platforms and the keys that let it in."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from merchant.admin.tenancy import ADD, CHANGE, VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.exceptions import InvalidTransition
from merchant.models import ApiKey, InboundEvent
from merchant.services.api_keys import api_key_create, api_key_revoke, api_key_update
from merchant.services.inbound import inbound_event_reprocess


@admin.register(InboundEvent)
class InboundEventAdmin(ShopScopedAdmin):
    role_permissions = {Role.OWNER: frozenset({VIEW, CHANGE}), Role.AGENT: frozenset({VIEW, CHANGE})}
    list_display = ("received_at", "source", "topic", "status", "order", "short_error", "shop")
    list_filter = ("status", "source", "topic", ("shop", ShopListFilter))
    list_select_related = ("shop", "order")
    search_fields = ("delivery_id", "topic", "order__number", "error")
    date_hierarchy = "received_at"
    actions = ("reprocess",)
    fields = (
        "shop",
        "source",
        "topic",
        "status",
        "error",
        "order",
        "duplicate_of",
        "delivery_id",
        "waiting_for",
        "received_at",
        "processed_at",
        "attempts",
        "result",
        "headers",
        "pretty_body",
    )

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # nothing that came in is lost

    def has_change_permission(self, request, obj=None):
        # The page is read-only; "change" means running the reprocess action from the list.
        return obj is None and super().has_change_permission(request, None)

    @admin.display(description="Error or why it waits")
    def short_error(self, event: InboundEvent) -> str:
        return (event.error[:80] + "…") if len(event.error) > 80 else event.error

    @admin.display(description="Body")
    def pretty_body(self, event: InboundEvent) -> str:
        raw = bytes(event.body)
        try:
            text = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except ValueError:
            text = raw.decode("utf-8", errors="replace")
        return format_html("<pre style='max-height:40em;overflow:auto'>{}</pre>", text[:200_000])

    @admin.action(description="Reprocess failed or waiting events", permissions=["change"])
    def reprocess(self, request, queryset):
        for event in queryset.select_related("shop"):
            try:
                event = inbound_event_reprocess(event=event)
            except InvalidTransition as refusal:
                self.message_user(request, f"Skipped: {refusal}", messages.WARNING)
                continue
            level = messages.SUCCESS if event.status == InboundEvent.Status.PROCESSED else messages.ERROR
            self.message_user(
                request, f"Event {event.pk} ({event.topic}): {event.get_status_display()}. {event.error}", level
            )


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("shop", "name", "kind", "rate_limit_per_minute")


@admin.register(ApiKey)
class ApiKeyAdmin(ShopScopedAdmin):
    form = ApiKeyForm
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE})}
    list_display = ("name", "kind", "prefix", "created_at", "last_used_at", "revoked_at", "shop")
    list_filter = ("kind", ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("shop", "name", "kind", "rate_limit_per_minute")
        return ("shop", "name", "kind", "prefix", "rate_limit_per_minute", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "kind") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record of who had access stays

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            api_key_update(
                api_key=ApiKey.objects.get(pk=obj.pk),
                name=data["name"],
                rate_limit_per_minute=data["rate_limit_per_minute"],
            )
            return
        api_key, raw_key = api_key_create(
            shop=data["shop"], name=data["name"], kind=data["kind"], rate_limit_per_minute=data["rate_limit_per_minute"]
        )
        obj.__dict__.update(api_key.__dict__)
        self.message_user(
            request,
            format_html(
                "The new key is <code>{}</code>. Copy it now: it is not stored and will not be shown again.", raw_key
            ),
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"{queryset.count()} key(s) revoked; requests with them now answer 401.")

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from merchant import services
from merchant.admin.tenancy import ADD, CHANGE, DELETE, VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.models import Membership, Merchant
from merchant.services.api_keys import merchant_webhook_secret_set
from merchant.web_origins import origin_normalize


class MerchantForm(forms.ModelForm):
    """Shop settings plus write-only webhook secrets: saved, never shown again."""

    shopify_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        label="Shopify app client secret",
        help_text="Shopify signs webhooks with your app's client secret. Paste it to set or replace it; "
        "leave empty to keep the current one.",
    )
    rotate_webhook_secret = forms.BooleanField(
        required=False,
        label="Generate a new webhook secret",
        help_text="For WooCommerce and custom senders. The old secret stops working at once.",
    )

    class Meta:
        model = Merchant
        fields = (
            "name", "slug", "country", "time_zone", "default_language", "currency",
            "contact_email", "contact_phone", "sender_name", "storefront_origin",
        )  # fmt: skip

    def clean_storefront_origin(self) -> str:
        # People paste the address bar: "https://Shop.example.com/" is the origin https://shop.example.com.
        return origin_normalize(self.cleaned_data.get("storefront_origin", ""))


@admin.register(Merchant)
class MerchantAdmin(ShopScopedAdmin):
    form = MerchantForm
    shop_path = "pk"
    role_permissions = {Role.OWNER: frozenset({VIEW, CHANGE}), Role.AGENT: frozenset({VIEW})}
    list_display = ("name", "slug", "country", "time_zone", "default_language", "currency")
    search_fields = ("name", "slug")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ("name", "slug", "country", "time_zone", "default_language", "currency")}),
            ("Contact and sender", {"fields": ("contact_email", "contact_phone", "sender_name")}),
            ("Storefront", {"fields": ("storefront_origin",)}),
        ]
        if obj is not None:
            secrets = ("shopify_secret", "rotate_webhook_secret") if self.has_change_permission(request, obj) else ()
            fieldsets.append(("Connections", {"fields": ("webhook_urls", "secrets_state", *secrets)}))
        return fieldsets

    @admin.display(description="Webhook addresses")
    def webhook_urls(self, shop: Merchant) -> str:
        return format_html(
            "Shopify: <code>{}</code><br>WooCommerce: <code>{}</code>",
            reverse("webhook-shopify", args=[shop.slug]),
            reverse("webhook-woocommerce", args=[shop.slug]),
        )

    @admin.display(description="Secrets")
    def secrets_state(self, shop: Merchant) -> str:
        def state(value: str) -> str:
            return "set" if value else "not set"

        return (
            f"Webhook secret: {state(shop.webhook_secret)}; Shopify client secret: {state(shop.shopify_webhook_secret)}"
        )

    def has_add_permission(self, request, obj=None):
        # New shops come from `manage.py createmerchant` or a superuser.
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return ("slug", "webhook_urls", "secrets_state") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in services.MERCHANT_EDITABLE_FIELDS if name in data}
        if change:
            shop = services.merchant_update(shop=obj, **fields)
        else:
            shop = services.merchant_create(slug=data["slug"], **fields)
            obj.pk, obj._state.adding = shop.pk, False
        if data.get("shopify_secret"):
            merchant_webhook_secret_set(shop=shop, platform="shopify", secret=data["shopify_secret"])
            self.message_user(request, "The Shopify client secret was saved.")
        if data.get("rotate_webhook_secret"):
            secret = merchant_webhook_secret_set(shop=shop, platform="generic")
            self.message_user(
                request,
                format_html("The new webhook secret is <code>{}</code>. Copy it now: it is not shown again.", secret),
                messages.WARNING,
            )


class MembershipAddForm(forms.ModelForm):
    email = forms.EmailField(help_text="The person's login. A new login is created when none exists.")

    class Meta:
        model = Membership
        fields = ("shop", "email", "role")


@admin.register(Membership)
class MembershipAdmin(ShopScopedAdmin):
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE})}
    list_display = ("user_email", "shop", "role", "created_at")
    list_filter = ("role", ("shop", ShopListFilter))
    list_select_related = ("user", "shop")
    search_fields = ("user__email", "user__username")
    fields = ("shop", "user", "role")
    readonly_fields = ("user",)
    actions = None

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, membership: Membership) -> str:
        return membership.user.email or membership.user.get_username()

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
            kwargs["fields"] = ("shop", "email", "role")
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("shop", "email", "role") if obj is None else ("shop", "user", "role")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("shop", "user")

    def save_model(self, request, obj, form, change):
        if change:
            membership = services.membership_set(shop=obj.shop, user=obj.user, role=form.cleaned_data["role"])
        else:
            user, password = services.staff_user_get_or_create(email=form.cleaned_data["email"])
            membership = services.membership_set(
                shop=form.cleaned_data["shop"], user=user, role=form.cleaned_data["role"]
            )
            if password:
                self.message_user(
                    request,
                    f"A login was created for {user.email}. Its first password is {password} — share it privately.",
                    messages.WARNING,
                )
        obj.pk, obj.user, obj._state.adding = membership.pk, membership.user, False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return self.response_post_save_change(request, None)

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return self.response_post_save_change(request, None)

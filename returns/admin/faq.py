"""Admin of returns: the FAQ entries sent with automatic replies (with a preview of the auto-reply by SMS and
email in a language), and each shop's inbound email address and Mailgun signing key (write-only)."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters

from merchant.admin.tenancy import ADD, CHANGE, DELETE, VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.models import Merchant
from returns.models import EmailInbox, FaqEntry
from returns.selectors.auto_reply import auto_reply_preview_list
from returns.services.inbound_email import email_inbox_save

# Owners write the FAQ; agents read it (they answer the questions it does not).
FAQ_ROLES = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW})}


@admin.register(FaqEntry)
class FaqEntryAdmin(ShopScopedAdmin):
    role_permissions = FAQ_ROLES
    list_display = ("question", "language", "position", "is_active", "shop")
    list_display_links = ("question",)
    list_editable = ("position", "is_active")
    list_filter = ("language", "is_active", ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("question", "answer")
    ordering = ("shop", "language", "position", "id")
    fields = ("shop", "language", "question", "answer", "position", "is_active")

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view), name=f"{name}_preview"),
            *super().get_urls(),
        ]

    def _shops(self, request) -> list[Merchant]:
        return list(Merchant.objects.filter(pk__in=self.shop_ids_allowing(request, VIEW)).order_by("name", "id"))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "preview_url": reverse("admin:returns_faqentry_preview")}
        return super().changelist_view(request, extra_context)

    def preview_view(self, request):
        """The auto-reply by SMS and by email in one language, as a customer writing tonight would get it."""
        if not self.has_view_permission(request):
            raise Http404("No FAQ entries in your shops.")
        shops = self._shops(request)
        wanted = request.GET.get("shop", "")
        shop = next((shop for shop in shops if str(shop.pk) == wanted), None) if wanted else (shops or [None])[0]
        if shop is None:
            raise Http404("No such shop among yours.")  # another shop's id: not found, never forbidden
        languages = dict(settings.LANGUAGES)
        language = request.GET.get("language") or shop.default_language
        if language not in languages:
            raise Http404("No such language.")
        return TemplateResponse(
            request,
            "admin/returns/faqentry/preview.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Auto-reply preview"),
                "shop": shop,
                "shops": shops,
                "language": language,
                "languages": languages.items(),
                "previews": auto_reply_preview_list(shop=shop, language=language),
                "rule_list_url": reverse("admin:journeys_carerule_changelist") + "?trigger__exact=auto_reply",
            },
        )


class EmailInboxForm(forms.ModelForm):
    new_signing_key = forms.CharField(
        label=gettext_lazy("Mailgun webhook signing key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy(
            "Mailgun → Sending → Webhooks → HTTP webhook signing key. Leave empty to keep the saved key; without "
            "one the deployment's ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY is used."
        ),
    )

    class Meta:
        model = EmailInbox
        fields = ("shop", "address", "is_active")


@admin.register(EmailInbox)
class EmailInboxAdmin(ShopScopedAdmin):
    form = EmailInboxForm
    # The signing key is the owner's business; agents do not see inboxes.
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE})}
    list_display = ("__str__", "is_active", "key", "shop")
    list_select_related = ("shop",)
    readonly_fields = ("key", "webhook_url")
    fields = ("shop", "address", "is_active", "key", "new_signing_key", "webhook_url")

    @admin.display(description=gettext_lazy("signing key"))
    def key(self, inbox: EmailInbox) -> str:
        return _("saved (hidden)") if inbox.signing_key else _("the deployment's key")

    @admin.display(description=gettext_lazy("route to create in Mailgun"))
    def webhook_url(self, inbox: EmailInbox) -> str:
        if inbox.pk is None:
            return _("Shown once saved.")
        base = (getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
        url = base + reverse("webhook-email-inbound", args=[inbox.shop.slug])
        return format_html('<code>match_recipient("{}")</code> → <code>forward("{}")</code>', inbox.address or "…", url)

    @method_decorator(sensitive_post_parameters("new_signing_key"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        email_inbox_save(inbox=obj, signing_key=form.cleaned_data.get("new_signing_key") or "")

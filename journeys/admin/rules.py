"""Care rules and their message templates, with a preview, a dry run and a 7-day calendar per rule."""

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from journeys.context import CONTEXT_SCHEMA, Field, context_worst_case, links_all, values_all
from journeys.forms import CareRuleForm, MessageTemplateForm
from journeys.models import Campaign, CareRule, Channel, HolidayGreeting, MessageTemplate
from journeys.selectors import (
    care_rule_calendar_list,
    message_preview_get,
    message_trigger_label,
    order_recent_list,
)
from journeys.send_windows import window_describe
from journeys.services.content import content_render
from journeys.services.planning import rule_window
from journeys.services.rules import care_rule_dry_run, care_rule_save, message_template_save
from journeys.sms_encoding import sms_cost_hint, sms_length
from journeys.triggers import triggers_all
from merchant.admin.tenancy import ADD, CHANGE, VIEW, Role, ShopListFilter, ShopScopedAdmin, ShopScopedMixin
from merchant.models import Order

OWNER_EDITS = {Role.OWNER: frozenset({VIEW, ADD, CHANGE}), Role.AGENT: frozenset({VIEW})}
# Each campaign and holiday greeting has a rule of its own, edited from the campaign's or greeting's page.
CAMPAIGN_TRIGGERS = ("campaign", "holiday_greeting")


class CareRuleChangeList(ChangeList):
    """The order-care rules: the rules of campaigns and greetings are reached from their own pages."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).exclude(trigger__in=CAMPAIGN_TRIGGERS)


class TriggerFilter(admin.SimpleListFilter):
    """Triggers by their names people know, from the trigger registry (no query)."""

    title = "trigger"
    parameter_name = "trigger"

    def lookups(self, request, model_admin):
        return [(spec.name, spec.label) for spec in triggers_all()]

    def queryset(self, request, queryset):
        return queryset.filter(trigger=self.value()) if self.value() else queryset


def delay_display(rule: CareRule) -> str:
    if not rule.delay_amount:
        return _("at once")
    words = {
        CareRule.DelayUnit.MINUTES: ngettext("%d minute", "%d minutes", rule.delay_amount),
        CareRule.DelayUnit.HOURS: ngettext("%d hour", "%d hours", rule.delay_amount),
        CareRule.DelayUnit.DAYS: ngettext("%d day", "%d days", rule.delay_amount),
    }
    return words.get(rule.delay_unit, f"%d {rule.delay_unit}") % rule.delay_amount


class MessageTemplateInline(ShopScopedMixin, admin.StackedInline):
    model = MessageTemplate
    form = MessageTemplateForm
    shop_path = "rule__shop"
    role_permissions = OWNER_EDITS
    can_delete = False
    fields = ("channel", "language", "subject", "body", "html_body", "preview_link")
    readonly_fields = ("preview_link",)
    verbose_name = _("message template")
    verbose_name_plural = _("Message templates (one per channel and language)")

    def shop_id_of(self, obj):
        # Permission checks of an inline receive the parent rule.
        return obj.shop_id if isinstance(obj, CareRule) else obj.rule.shop_id

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    @admin.display(description=_("Preview"))
    def preview_link(self, template: MessageTemplate) -> str:
        if not template.pk:
            return _("Save the rule to preview this template.")
        url = reverse("admin:journeys_carerule_preview", args=[quote(template.rule_id), template.pk])
        if template.channel != Channel.SMS:
            return format_html('<a href="{}">{}</a>', url, _("Preview with a real order"))
        return format_html(
            '<a href="{}">{}</a><div class="help">{}</div>',
            url,
            _("Preview with a real order, length and worst case"),
            _("Worst case: %s") % sms_worst_case_hint(template),
        )


def sms_worst_case_hint(template: MessageTemplate) -> str:
    """ "3 segments, UCS-2 because of …" for the template with every variable at its longest. No queries."""
    try:
        body = content_render(template, context_worst_case(), time_zone="UTC").body
    except Exception as error:  # a saved template renders; if not, say so instead of failing the page
        return str(error)
    return sms_cost_hint(sms_length(body))


@admin.register(CareRule)
class CareRuleAdmin(ShopScopedAdmin):
    form = CareRuleForm
    role_permissions = OWNER_EDITS
    inlines = (MessageTemplateInline,)
    list_display = (
        "name",
        "trigger_label",
        "is_active",
        "delay",
        "channels_display",
        "message_class",
        "window",
        "shop",
    )
    list_filter = (TriggerFilter, "is_active", "channel", ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("name",)
    filter_horizontal = ("customer_tags",)
    change_form_template = "admin/journeys/carerule/change_form.html"
    fieldsets = (
        (
            _("Trigger & timing"),
            {
                "fields": (
                    "shop",
                    "name",
                    "trigger",
                    "is_active",
                    ("delay_amount", "delay_unit"),
                    "expire_after_hours",
                )
            },
        ),
        (
            _("Conditions"),
            {
                "description": _("All conditions that are set must hold when the message is planned."),
                "fields": (
                    ("min_order_total", "max_order_total"),
                    "customer_countries",
                    "product_categories",
                    "customer_tags",
                    "customer_kind",
                ),
            },
        ),
        (
            _("Delivery"),
            {
                "fields": (
                    ("channel", "fallback_channel"),
                    "message_class",
                    ("window_start", "window_end"),
                    "send_any_hour",
                    "coupon_pool",
                    "over_budget",
                )
            },
        ),
        (
            _("Measuring"),
            {
                "description": _(
                    "Keep a holdout group to see the rule's real effect on the dashboard (Rule performance): "
                    "customers who would have got the message and did not, compared with those who did."
                ),
                "fields": ("holdout_percent",),
            },
        ),
    )

    # --- list columns ----------------------------------------------------------------------------
    @admin.display(description=_("trigger"), ordering="trigger")
    def trigger_label(self, rule: CareRule) -> str:
        return message_trigger_label(rule.trigger)

    @admin.display(description=_("delay"), ordering="delay_amount")
    def delay(self, rule: CareRule) -> str:
        return delay_display(rule)

    @admin.display(description=_("channel → fallback"), ordering="channel")
    def channels_display(self, rule: CareRule) -> str:
        return " → ".join(str(Channel(channel).label) for channel in rule.channels)

    @admin.display(description=_("window"))
    def window(self, rule: CareRule) -> str:
        return window_describe(rule_window(rule))

    # --- saving through the services ------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        care_rule_save(rule=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not MessageTemplate:
            super().save_formset(request, form, formset, change)
            return
        for template in formset.save(commit=False):
            message_template_save(template=template)
        formset.save_m2m()

    def get_changelist(self, request, **kwargs):
        return CareRuleChangeList

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["template_variables"] = template_variables()
        if obj is not None and obj.trigger in CAMPAIGN_TRIGGERS:
            context["rule_owners"] = rule_owners(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- pages of one rule -------------------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/preview/<int:template_id>/",
                wrap(self.preview_view),
                name=f"{name}_preview",
            ),
            path("<path:object_id>/dry-run/", wrap(self.dry_run_view), name=f"{name}_dry_run"),
            path("<path:object_id>/calendar/", wrap(self.calendar_view), name=f"{name}_calendar"),
            *super().get_urls(),
        ]

    def _rule_for(self, request, object_id: str) -> CareRule:
        rule = self.get_object(request, unquote(object_id))  # another shop's rule: 404
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        return rule

    def _page(self, request, rule: CareRule, template_name: str, title: str, **context):
        return TemplateResponse(
            request,
            template_name,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": rule,
                "rule": rule,
                "title": title,
                "has_view_permission": True,
                **context,
            },
        )

    def preview_view(self, request, object_id: str, template_id: int):
        rule = self._rule_for(request, object_id)
        template = get_object_or_404(MessageTemplate, rule=rule, pk=template_id)
        orders = order_recent_list(shop=rule.shop)
        order = orders[0] if orders else None
        wanted = request.GET.get("order", "")
        if wanted:
            if not wanted.isdigit():
                raise Http404("No such order in this shop.")
            order = get_object_or_404(Order.objects.select_related("customer"), shop=rule.shop, pk=wanted)
            if order not in orders:
                orders = [order, *orders]
        return self._page(
            request,
            rule,
            "admin/journeys/carerule/preview.html",
            _("Preview: %s") % template,
            template=template,
            orders=orders,
            order=order,
            real=message_preview_get(rule=rule, template=template, order=order) if order else None,
            worst=message_preview_get(rule=rule, template=template),
            is_sms=template.channel == Channel.SMS,
            siblings=rule.templates.all(),
        )

    def dry_run_view(self, request, object_id: str):
        rule = self._rule_for(request, object_id)
        run = care_rule_dry_run(rule=rule)
        return self._page(request, rule, "admin/journeys/carerule/dry_run.html", _("Dry run: %s") % rule, run=run)

    def calendar_view(self, request, object_id: str):
        rule = self._rule_for(request, object_id)
        days = care_rule_calendar_list(rule=rule)
        outbox = reverse("admin:journeys_message_changelist")
        rows = [
            {
                "day": day,
                "url": f"{outbox}?"
                + urlencode(
                    {
                        "rule": rule.pk,
                        "status__exact": "scheduled",
                        "send_at__gte": day.starts_at.isoformat(),
                        "send_at__lt": day.ends_at.isoformat(),
                    }
                ),
            }
            for day in days
        ]
        return self._page(
            request,
            rule,
            "admin/journeys/carerule/calendar.html",
            _("Next 7 days: %s") % rule,
            rows=rows,
            total=sum(day.count for day in days),
        )


def rule_owners(rule: CareRule) -> list[tuple[str, str]]:
    """(name, admin page) of the holiday greeting or campaign whose message `rule` is."""
    greeting = HolidayGreeting.objects.filter(rule=rule).first()
    if greeting is not None:
        return [(greeting.name, reverse("admin:journeys_holidaygreeting_change", args=[quote(greeting.pk)]))]
    return [
        (campaign.name, reverse("admin:journeys_campaign_change", args=[quote(campaign.pk)]))
        for campaign in Campaign.objects.filter(rule=rule, greeting__isnull=True).order_by("-pk")[:3]
    ]


def template_variables() -> list[tuple[str, str]]:
    """(name as written in a template, what it holds), for the help panel beside the templates."""
    rows = []
    for name, spec in CONTEXT_SCHEMA.items():
        if isinstance(spec, Field):
            rows.append((name, spec.description))
        elif name == "lines":
            rows.extend((f"line.{attribute}", field.description) for attribute, field in spec.items())
        elif name != "links":
            rows.extend((f"{name}.{attribute}", field.description) for attribute, field in spec.items())
    rows.extend((f"links.{name}", link.description) for name, link in links_all().items())
    rows.extend((name, value.description) for name, value in values_all().items())
    return rows

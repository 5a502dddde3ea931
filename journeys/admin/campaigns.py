"""Audiences and campaigns in the admin: who a campaign reaches and what each would get before it goes,
the buttons that schedule, pause, resume and cancel it, a test send to the owner, and live progress.

Every write goes through `journeys.campaigns.services` / `.audiences`; the progress endpoint and the
buttons find the campaign through the shop-scoped queryset, so another shop's id answers 404.
"""

from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from journeys.campaigns import services
from journeys.campaigns.audiences import audience_delete, audience_save
from journeys.campaigns.forms import AudienceForm, CampaignForm, CampaignTestSendForm
from journeys.campaigns.models import Audience, Campaign
from journeys.campaigns.selectors import (
    audience_count,
    audience_sample,
    campaign_messages_sample,
    campaign_progress,
    campaign_test_sends,
)
from journeys.models import Channel, Message
from merchant.actors import Actor
from merchant.admin.service_forms import ServiceFormAdmin
from merchant.admin.tenancy import ADD, CHANGE, DELETE, VIEW, Role, ShopListFilter
from merchant.admin_site import AdminGroup, AdminLink, admin_group_register
from merchant.exceptions import InvalidTransition
from merchant.models import Merchant

OWNER_RUNS = {Role.OWNER: frozenset({VIEW, ADD, CHANGE}), Role.AGENT: frozenset({VIEW})}
S = Campaign.Status
# The statuses whose progress still moves: the page polls the progress endpoint while in one of them.
LIVE = frozenset({S.SCHEDULED, S.PLANNING, S.SENDING, S.PAUSED})
POLL_SECONDS = 3

admin_group_register(
    AdminGroup(
        label="campaigns",
        name=gettext_lazy("Campaigns & greetings"),
        models=(
            "journeys.campaign",
            "journeys.holidaygreeting",
            "journeys.approvedholiday",
            "journeys.audience",
            "journeys.shopdate",
        ),
        names={"journeys.approvedholiday": gettext_lazy("Holiday calendar")},
        links=(
            AdminLink(
                gettext_lazy("Review the calendar"),
                "admin:journeys_approvedholiday_review",
                model="journeys.approvedholiday",
                after="journeys.approvedholiday",
            ),
        ),
    )
)


def shops_for(model_admin, request, obj, action: str = ADD):
    """The shops a form may offer: the row's own, or those where the person may `action`."""
    if obj is not None:
        return Merchant.objects.filter(pk=obj.shop_id)
    return Merchant.objects.filter(pk__in=model_admin.shop_ids_allowing(request, action)).order_by("name")


def moment_display(moment, zone: str) -> str:
    local = timezone.localtime(moment, ZoneInfo(zone))
    return f"{date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"


def campaign_when(campaign: Campaign) -> str:
    """“25 Sep 2026, 10:00 in each customer's time zone” or the moment in the shop's zone."""
    if campaign.timing == Campaign.Timing.SHOP_TIME:
        if not campaign.send_at:
            return _("no moment yet")
        return _("%(when)s (the shop's time)") % {"when": moment_display(campaign.send_at, campaign.shop.time_zone)}
    if not campaign.send_on:
        return _("no date yet")
    return _("%(date)s, %(time)s in each customer's time zone") % {
        "date": date_format(campaign.send_on, "DATE_FORMAT"),
        "time": f"{campaign.send_time:%H:%M}",
    }


# --- audiences -------------------------------------------------------------------------------------


@admin.register(Audience)
class AudienceAdmin(ServiceFormAdmin):
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW})}
    list_display = ("name", "target", "filters", "shop")
    list_filter = ("target", ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("name",)
    change_form_template = "admin/journeys/campaigns/audience_change_form.html"
    fieldsets = (
        (None, {"fields": ("shop", "name", "target")}),
        (
            _("Customers"),
            {
                "description": _(
                    "Every filter that is set must hold. Consent and the contact budget are not filters: "
                    "who they leave out is counted below as suppressed."
                ),
                "fields": ("countries", "languages", "tags", ("ordered_within_months", "min_orders")),
            },
        ),
        (
            _("Orders (audiences of orders only)"),
            {"fields": ("order_statuses", "warehouses", ("placed_after", "placed_before"))},
        ),
    )

    @admin.display(description=_("filters"))
    def filters(self, audience: Audience) -> str:
        words = []
        if audience.countries:
            words.append(", ".join(country.code for country in audience.countries))
        if audience.languages:
            words.append(", ".join(audience.languages))
        if audience.ordered_within_months:
            words.append(_("ordered within %d months") % audience.ordered_within_months)
        if audience.min_orders:
            words.append(_("%d+ orders") % audience.min_orders)
        if audience.order_statuses:
            words.append(", ".join(audience.order_statuses))
        if audience.warehouses:
            words.append(_("from %s") % ", ".join(audience.warehouses))
        return " · ".join(words) or _("everyone")

    def service_form(self, request, obj, data):
        initial = self.get_changeform_initial_data(request) if obj is None else None
        return AudienceForm(data, instance=obj or Audience(), initial=initial, shops=shops_for(self, request, obj))

    def service_save(self, request, form, obj):
        return audience_save(audience=form.instance, tags=form.cleaned_data.get("tags"))

    def delete_model(self, request, obj):
        audience_delete(audience=obj)  # the delete page already refused one in use (PROTECT)

    def delete_queryset(self, request, queryset):
        for audience in queryset:
            try:
                audience_delete(audience=audience)
            except ValidationError as error:
                self.message_user(request, f"{audience}: {' '.join(error.messages)}", messages.ERROR)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["count"] = audience_count(obj)
            context["sample"] = audience_sample(obj)
            context["shop_zone"] = obj.shop.time_zone
        return super().render_change_form(request, context, add, change, form_url, obj)


# --- campaigns -------------------------------------------------------------------------------------

# The buttons of a campaign's page: the service, the status it needs, the words said when done.
ACTIONS = {
    "schedule": (services.campaign_schedule, gettext_lazy("Schedule"), gettext_lazy("Scheduled: “%s”.")),
    "unschedule": (services.campaign_unschedule, gettext_lazy("Back to draft"), gettext_lazy("“%s” is a draft again.")),
    "pause": (services.campaign_pause, gettext_lazy("Pause"), gettext_lazy("Paused: “%s”. Nothing more is sent.")),
    "resume": (services.campaign_resume, gettext_lazy("Resume"), gettext_lazy("Resumed: “%s”.")),
    "cancel": (
        services.campaign_cancel,
        gettext_lazy("Cancel the campaign"),
        gettext_lazy("Cancelled: “%s”. Its unsent messages will not be sent."),
    ),
}


def campaign_actions(campaign: Campaign) -> list[str]:
    """The buttons that make sense for the campaign's status (the services refuse the others anyway)."""
    names = {
        S.DRAFT: ["schedule", "cancel"],
        S.SCHEDULED: ["unschedule", "pause", "cancel"],
        S.PLANNING: ["pause", "cancel"],
        S.SENDING: ["pause", "cancel"],
        S.PAUSED: ["resume", "cancel"],
    }.get(campaign.status, [])
    if campaign.greeting_id:  # a greeting's date is never a draft: the greeting decides it
        names = [name for name in names if name not in ("schedule", "unschedule")]
    return names


def progress_json(campaign: Campaign) -> dict:
    """What the campaign's page shows of its progress, as the endpoint it polls answers it."""
    progress = campaign_progress(campaign)
    counts = ("planned", "scheduled", "paused", "sending", "sent", "delivered", "clicked", "failed", "cancelled")
    return {
        "status": campaign.status,
        "status_label": str(campaign.get_status_display()),
        "live": campaign.status in LIVE,
        "percent": progress.percent,
        **{name: getattr(progress, name) for name in counts},
        "expired": progress.expired,
        "unknown": progress.unknown,
        "finished": progress.finished,
        "planning_done": progress.planning_done,
        "suppressed_total": progress.suppressed_total,
        "suppressed": [
            {"reason": reason, "label": label, "count": count} for reason, label, count in progress.suppressed_labelled
        ],
    }


class CampaignStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return S.choices

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(Campaign)
class CampaignAdmin(ServiceFormAdmin):
    role_permissions = OWNER_RUNS
    list_display = ("name", "kind", "status", "when", "audience", "shop")
    list_filter = (CampaignStatusFilter, "kind", ("shop", ShopListFilter))
    list_select_related = ("shop", "audience")
    search_fields = ("name",)
    change_form_template = "admin/journeys/campaigns/campaign_change_form.html"
    service_error_fields = {"send_at": "send_on"}
    add_fieldsets = (
        (None, {"fields": ("shop", "name", "audience")}),
        (_("When"), {"fields": ("timing", ("send_on", "send_time"))}),
        (
            _("How"),
            {
                "description": _("The message in every language is written on the next page (“Edit the message”)."),
                "fields": (("channel", "fallback_channel"), "message_class", "coupon_pool"),
            },
        ),
    )
    fieldsets = (
        (None, {"fields": ("shop", "name", "audience")}),
        (_("When"), {"fields": ("timing", ("send_on", "send_time"))}),
    )

    @admin.display(description=_("when"), ordering="send_on")
    def when(self, campaign: Campaign) -> str:
        return campaign_when(campaign)

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled, never deleted: its messages and their history stay

    # --- the form: create and change a draft through the services ------------------------------------
    def service_form(self, request, obj, data):
        initial = self.get_changeform_initial_data(request) if obj is None else None
        form = CampaignForm(
            data,
            instance=obj or Campaign(),
            initial=initial,
            shops=shops_for(self, request, obj),
            add=obj is None,
        )
        if obj is not None and obj.status != S.DRAFT:
            for field in form.fields.values():
                field.disabled = True
        return form

    def service_save(self, request, form, obj):
        data, actor = form.cleaned_data, Actor.staff(request.user)
        if obj is None:
            shop = data["shop"]
            return services.campaign_create(
                shop=shop,
                name=data["name"],
                audience=data["audience"],
                actor=actor,
                timing=data["timing"],
                **form.when(shop),
                channel=data["channel"],
                fallback_channel=data["fallback_channel"],
                message_class=data["message_class"],
                coupon_pool=data["coupon_pool"],
            )
        if obj.status != S.DRAFT:
            raise ValidationError(_("Only a draft can be changed: put it back to draft first."))
        return services.campaign_update(
            campaign=obj,
            actor=actor,
            name=data["name"],
            audience=data["audience"],
            timing=data["timing"],
            **form.when(obj.shop),
        )

    def response_add(self, request, obj, post_url_continue=None):
        # To the campaign's page: what it reaches, its message, the Schedule button.
        self.message_user(request, _("The campaign “%s” was created as a draft.") % obj, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:journeys_campaign_change", args=[quote(obj.pk)]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._page_context(request, obj))
            if obj.status != S.DRAFT:
                context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _page_context(self, request, campaign: Campaign) -> dict:
        can_run = self.has_change_permission(request, campaign)
        outbox = reverse("admin:journeys_message_changelist") + "?" + urlencode({"campaign": campaign.pk})
        user_email = getattr(request.user, "email", "") or ""
        return {
            "campaign": campaign,
            "when": campaign_when(campaign),
            "progress": campaign_progress(campaign),
            "progress_url": reverse("admin:journeys_campaign_progress", args=[quote(campaign.pk)]),
            "live": campaign.status in LIVE,
            "poll_seconds": POLL_SECONDS,
            **self._who_gets_what(campaign),
            "actions": [
                (name, ACTIONS[name][1], reverse("admin:journeys_campaign_action", args=[quote(campaign.pk), name]))
                for name in campaign_actions(campaign)
            ]
            if can_run
            else [],
            "rule_url": reverse("admin:journeys_carerule_change", args=[quote(campaign.rule_id)]),
            "outbox_url": outbox,
            "greeting_url": (
                reverse("admin:journeys_holidaygreeting_change", args=[quote(campaign.greeting_id)])
                if campaign.greeting_id
                else ""
            ),
            "test_form": CampaignTestSendForm(initial={"to": user_email, "channel": Channel.EMAIL})
            if can_run
            else None,
            "test_url": reverse("admin:journeys_campaign_test_send", args=[quote(campaign.pk)]),
            "test_sends": list(campaign_test_sends(campaign=campaign)[:5]),
            "shop_zone": campaign.shop.time_zone,
        }

    def _who_gets_what(self, campaign: Campaign) -> dict:
        """Before planning: the audience as the fan-out would plan it (counts and a sample). Once planned: the
        first messages it planned, which cost an index range instead of counting the whole audience again."""
        if campaign.status in (S.DRAFT, S.SCHEDULED):
            return {
                "count": audience_count(campaign.audience, campaign=campaign),
                "sample": audience_sample(campaign.audience, campaign=campaign),
            }
        return {"planned_sample": campaign_messages_sample(campaign=campaign)}

    # --- the buttons, the test send and the progress endpoint --------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/progress/", wrap(self.progress_view), name="journeys_campaign_progress"),
            path("<path:object_id>/do/<slug:action>/", wrap(self.action_view), name="journeys_campaign_action"),
            path("<path:object_id>/test-send/", wrap(self.test_send_view), name="journeys_campaign_test_send"),
            *super().get_urls(),
        ]

    def _campaign(self, request, object_id: str, *, change: bool) -> Campaign:
        campaign = self.get_object(request, unquote(object_id))  # another shop's: 404
        allowed = (
            self.has_change_permission(request, campaign) if change else self.has_view_permission(request, campaign)
        )
        if not allowed:
            raise PermissionDenied
        return campaign

    def _back(self, campaign: Campaign) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:journeys_campaign_change", args=[quote(campaign.pk)]))

    def _refused(self, request, prefix: str, error: Exception) -> None:
        """One error message per problem, naming the field it is about: "Schedule refused: Send on: …"."""
        problems = error_items(error) if isinstance(error, ValidationError) else [("", str(error))]
        for field, problem in problems:
            self.message_user(
                request, f"{prefix}: {field}: {problem}" if field else f"{prefix}: {problem}", messages.ERROR
            )

    def progress_view(self, request, object_id: str):
        """Live progress as JSON, polled every few seconds by the campaign's page (its template's script)."""
        campaign = self._campaign(request, object_id, change=False)
        return JsonResponse(progress_json(campaign), headers={"Cache-Control": "no-store"})

    def action_view(self, request, object_id: str, action: str):
        """A button of the campaign's page: POST only, one service call, then back to the page with what happened."""
        campaign = self._campaign(request, object_id, change=True)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in ACTIONS:
            raise Http404("No such action.")
        service, label, done = ACTIONS[action]
        try:
            service(campaign=campaign, actor=Actor.staff(request.user))
        except (ValidationError, InvalidTransition) as error:
            self._refused(request, _("%s refused") % label, error)
        else:
            self.log_change(request, campaign, [{"changed": {"fields": ["status"]}}])
            self.message_user(request, done % campaign, messages.SUCCESS)
        return self._back(campaign)

    def test_send_view(self, request, object_id: str):
        """Send the campaign's message now to the person asking (their email by default), marked as a test."""
        campaign = self._campaign(request, object_id, change=True)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = CampaignTestSendForm(request.POST)
        if not form.is_valid():
            for name, problems in form.errors.items():
                label = form.fields[name].label if name in form.fields else ""
                self.message_user(
                    request, f"{_('Test not sent')}: {label or name}: {' '.join(problems)}", messages.ERROR
                )
            return self._back(campaign)
        try:
            message = services.campaign_test_send(
                campaign=campaign,
                actor=Actor.staff(request.user),
                to=form.cleaned_data["to"],
                channel=form.cleaned_data["channel"],
                language=form.cleaned_data["language"],
            )
        except ValidationError as error:
            self._refused(request, _("Test not sent"), error)
        else:
            sent = message.status in (Message.Status.SENT, Message.Status.DELIVERED)
            words = _("Test %(status)s to %(to)s.") % {
                "status": message.get_status_display().lower(),
                "to": message.address,
            }
            self.message_user(request, words, messages.SUCCESS if sent else messages.WARNING)
        return self._back(campaign)


def error_items(error: ValidationError) -> list[tuple[str, str]]:
    """(field label, its problems) of a service's ValidationError; "" for a problem of no field."""
    if not hasattr(error, "error_dict"):
        return [("", " ".join(error.messages))]
    return [
        (
            "" if name == "__all__" else name.replace("_", " ").capitalize(),
            " ".join(message for e in errs for message in e),
        )
        for name, errs in error.error_dict.items()
    ]

"""Holiday greetings, the shop's own dates and the approved calendar in the admin.

The calendar has two pages: the owner's review of the next twelve months (candidates from the
`holidays` package and the shop's dates, grouped by month, ticked to approve, with what a library
update would move shown as warnings), and the approved calendar itself, per date, with how many
customers each date would greet and by which greetings. Writes go through
`journeys.campaigns.greetings` / `.audiences`; another shop's id answers 404.
"""

import datetime as dt
from collections import OrderedDict

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from journeys.admin.campaigns import OWNER_RUNS, error_items, shops_for
from journeys.campaigns.audiences import shop_date_delete, shop_date_save
from journeys.campaigns.calendar import UnknownSubdivision, holiday_name_pick
from journeys.campaigns.forms import HolidayGreetingForm, ShopDateForm, local_today
from journeys.campaigns.greetings import (
    calendar_approve,
    calendar_unapprove,
    holiday_greeting_create,
    holiday_greeting_set_active,
    holiday_greeting_update,
)
from journeys.campaigns.models import ApprovedHoliday, Campaign, HolidayGreeting, ShopDate
from journeys.campaigns.selectors import (
    approved_calendar_list,
    approved_holiday_choices,
    audience_count,
    audience_sample,
    calendar_review,
    greeting_next_dates,
)
from merchant.actors import Actor
from merchant.admin.service_forms import ServiceFormAdmin
from merchant.admin.tenancy import ADD, CHANGE, DELETE, VIEW, Role, ShopListFilter, ShopScopedAdmin
from merchant.models import Merchant

APPROVE = "approve"
PREVIEWED_DATES = 2  # dates of a greeting shown with "who will get what"


# --- holiday greetings -------------------------------------------------------------------------------


def occurrence_preview(greeting: HolidayGreeting, *, key: str, date: dt.date) -> Campaign:
    """The greeting's date as the unsaved campaign it will become (for counts and the sample; never saved)."""
    return Campaign(
        shop=greeting.shop,
        name=greeting.name,
        kind=Campaign.Kind.GREETING,
        rule=greeting.rule,
        audience=greeting.audience,
        greeting=greeting,
        holiday_key=key,
        holiday_date=date,
        timing=Campaign.Timing.CUSTOMER_TIME,
        send_on=date - dt.timedelta(days=greeting.lead_days),
        send_time=greeting.send_time,
    )


@admin.register(HolidayGreeting)
class HolidayGreetingAdmin(ServiceFormAdmin):
    role_permissions = OWNER_RUNS
    list_display = ("name", "is_active", "holidays", "at", "next_dates", "audience", "shop")
    list_filter = ("is_active", ("shop", ShopListFilter))
    list_select_related = ("shop", "audience", "rule")
    search_fields = ("name",)
    actions = ("turn_on", "turn_off")
    change_form_template = "admin/journeys/campaigns/greeting_change_form.html"
    readonly_fields = ("message_link",)
    fieldsets = (
        (None, {"fields": ("shop", "name", "is_active")}),
        (_("When"), {"fields": ("holiday_keys", ("lead_days", "send_time"))}),
        (
            _("To whom and how"),
            {"fields": ("audience", ("channel", "fallback_channel"), "coupon_pool", "message_link")},
        ),
    )

    # --- list ----------------------------------------------------------------------------------------
    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        greetings = list(changelist.result_list)
        today = local_today(greetings[0].shop if greetings else None)
        dates = greeting_next_dates(greetings, today=today)
        names = {
            (choice.shop_id, choice.key): choice.name
            for choice in approved_holiday_choices(shop_ids={g.shop_id for g in greetings}, today=today)
        }
        for greeting in greetings:
            greeting.next_dates_found = dates.get(greeting.pk, [])
            greeting.holiday_names = [names.get((greeting.shop_id, key), key) for key in greeting.holiday_keys]
        return changelist

    @admin.display(description=_("holidays"))
    def holidays(self, greeting: HolidayGreeting) -> str:
        return ", ".join(getattr(greeting, "holiday_names", greeting.holiday_keys))

    @admin.display(description=_("local time"), ordering="send_time")
    def at(self, greeting: HolidayGreeting) -> str:
        lead = ngettext("%d day before", "%d days before", greeting.lead_days) % greeting.lead_days
        return f"{greeting.send_time:%H:%M}" + (f", {lead}" if greeting.lead_days else "")

    @admin.display(description=_("next dates it goes out"))
    def next_dates(self, greeting: HolidayGreeting) -> str:
        found = getattr(greeting, "next_dates_found", [])
        if not found:
            return _("none approved ahead")
        return format_html_join(
            ", ",
            '<span class="nowrap" title="{}">{} {}</span>',
            ((f"{d.holiday_date:%Y-%m-%d}", f"{d.send_on:%d %b %Y}", f"({d.name})") for d in found),
        )

    @admin.display(description=_("message"))
    def message_link(self, greeting: HolidayGreeting) -> str:
        if not greeting.rule_id:
            return _("Save the greeting first; then edit its message in every language.")
        url = reverse("admin:journeys_carerule_change", args=[quote(greeting.rule_id)])
        return format_html('<a href="{}">{}</a>', url, _("Edit the message (templates per language, preview)"))

    @admin.action(description=_("Turn on the selected greetings"), permissions=["change"])
    def turn_on(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description=_("Turn off the selected greetings"), permissions=["change"])
    def turn_off(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active: bool) -> None:
        done = 0
        for greeting in queryset:
            if not self.has_change_permission(request, greeting):
                self.message_user(request, _("You may not change greetings of %s.") % greeting.shop, messages.ERROR)
                continue
            try:
                holiday_greeting_set_active(greeting=greeting, is_active=active, actor=Actor.staff(request.user))
            except ValidationError as error:
                problems = "; ".join(
                    f"{field}: {problem}" if field else problem for field, problem in error_items(error)
                )
                self.message_user(request, f"{greeting}: {problems}", messages.ERROR)
            else:
                done += 1
        if done:
            words = (
                ngettext("%d greeting turned on.", "%d greetings turned on.", done)
                if active
                else ngettext("%d greeting turned off.", "%d greetings turned off.", done)
            )
            self.message_user(request, words % done, messages.SUCCESS)

    def response_action(self, request, queryset):
        # Turning one on or off from its own page returns there.
        response = super().response_action(request, queryset)
        greeting_id = request.POST.get("_return_to_greeting", "")
        if greeting_id.isdigit() and isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(reverse("admin:journeys_holidaygreeting_change", args=[greeting_id]))
        return response

    # --- add and change through the services -----------------------------------------------------------
    def service_form(self, request, obj, data):
        shops = shops_for(self, request, obj)
        shop_ids = list(shops.values_list("pk", flat=True))
        choices = approved_holiday_choices(shop_ids=shop_ids, today=local_today(obj.shop if obj else None))
        initial = self.get_changeform_initial_data(request) if obj is None else None
        return HolidayGreetingForm(
            data, instance=obj or HolidayGreeting(), initial=initial, shops=shops, choices=choices
        )

    def service_save(self, request, form, obj):
        data, actor = form.cleaned_data, Actor.staff(request.user)
        if obj is None:
            return holiday_greeting_create(
                shop=data["shop"],
                name=data["name"],
                audience=data["audience"],
                holiday_keys=list(data["holiday_keys"]),
                lead_days=data["lead_days"],
                send_time=data["send_time"],
                channel=data["channel"],
                fallback_channel=data["fallback_channel"],
                coupon_pool=data["coupon_pool"],
                is_active=data["is_active"],
                actor=actor,
            )
        changes = {name: data[name] for name in form.changed_data if name in data}
        if "holiday_keys" in changes:
            changes["holiday_keys"] = list(changes["holiday_keys"])
        return holiday_greeting_update(greeting=obj, actor=actor, **changes) if changes else obj

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            today = local_today(obj.shop)
            days = approved_calendar_list(shop=obj.shop, start=today, greeting=obj)
            next_dates = greeting_next_dates([obj], today=today, limit=PREVIEWED_DATES)[obj.pk]
            previews = []
            for date in next_dates:
                occurrence = occurrence_preview(obj, key=date.key, date=date.holiday_date)
                previews.append(
                    {
                        "date": date,
                        "count": audience_count(obj.audience, campaign=occurrence),
                        "sample": audience_sample(obj.audience, campaign=occurrence),
                    }
                )
            context.update(
                greeting=obj,
                days=[day for day in days if day.date - dt.timedelta(days=obj.lead_days) >= today],
                previews=previews,
                occurrences=list(obj.occurrences.order_by("-holiday_date")[:10]),
                calendar_url=reverse("admin:journeys_approvedholiday_changelist")
                + "?"
                + urlencode({"shop": obj.shop_id, "greeting": obj.pk}),
                can_toggle=self.has_change_permission(request, obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


# --- shop dates ------------------------------------------------------------------------------------------


@admin.register(ShopDate)
class ShopDateAdmin(ServiceFormAdmin):
    role_permissions = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, DELETE}), Role.AGENT: frozenset({VIEW})}
    list_display = ("name", "kind", "day_display", "shop")
    list_filter = ("kind", ("shop", ShopListFilter))
    list_select_related = ("shop",)
    search_fields = ("name",)
    fieldsets = ((None, {"fields": ("shop", "name", "names", "kind", ("month", "day"))}),)

    @admin.display(description=_("day"))
    def day_display(self, shop_date: ShopDate) -> str:
        if shop_date.kind == ShopDate.Kind.YEARLY:
            return dt.date(2000, shop_date.month, shop_date.day).strftime("%d %B")
        return shop_date.get_kind_display()

    def service_form(self, request, obj, data):
        initial = self.get_changeform_initial_data(request) if obj is None else None
        return ShopDateForm(data, instance=obj or ShopDate(), initial=initial, shops=shops_for(self, request, obj))

    def service_save(self, request, form, obj):
        return shop_date_save(shop_date=form.instance)

    def delete_model(self, request, obj):
        shop_date_delete(shop_date=obj)

    def delete_queryset(self, request, queryset):
        for shop_date in queryset:
            shop_date_delete(shop_date=shop_date)


# --- the approved calendar -------------------------------------------------------------------------------


def slot_of(country: str, subdivision: str, key: str, date: dt.date) -> str:
    return f"{country}|{subdivision}|{key}|{date:%Y-%m-%d}"


@admin.register(ApprovedHoliday)
class ApprovedHolidayAdmin(ShopScopedAdmin):
    """Its list is the calendar view; the review page approves and withdraws. An approved row is never edited."""

    role_permissions = {Role.OWNER: frozenset({VIEW, APPROVE}), Role.AGENT: frozenset({VIEW})}
    list_display = ("date", "key", "country", "subdivision", "shop")
    list_select_related = ("shop",)
    readonly_fields = ("names_display",)
    fields = (
        "shop", "date", "key", "names_display", "country", "subdivision", "source", "source_version",
        "approved_by", "approved_at",
    )  # fmt: skip

    @admin.display(description=_("names"))
    def names_display(self, holiday: ApprovedHoliday) -> str:
        return format_html_join(", ", "{} ({})", ((name, language) for language, name in holiday.names.items()))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("review/", wrap(self.review_view), name="journeys_approvedholiday_review"), *super().get_urls()]

    def _shop(self, request, action: str) -> tuple[Merchant, list[Merchant]]:
        """The shop asked for (`?shop=`) among those where the person may `action`; another's: 404."""
        shops = list(Merchant.objects.filter(pk__in=self.shop_ids_allowing(request, action)).order_by("name"))
        if not shops:
            raise PermissionDenied
        wanted = request.POST.get("shop") or request.GET.get("shop") or ""
        if not wanted:
            return shops[0], shops
        found = [shop for shop in shops if str(shop.pk) == wanted]
        if not found:
            raise Http404("No such shop among yours.")
        return found[0], shops

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "review_url": reverse("admin:journeys_approvedholiday_review"),
                "calendar_url": reverse("admin:journeys_approvedholiday_changelist"),
                **context,
            },
        )

    # --- the calendar view ---------------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        shop, shops = self._shop(request, VIEW)
        greetings = list(HolidayGreeting.objects.filter(shop=shop).select_related("audience").order_by("name"))
        greeting = None
        wanted = request.GET.get("greeting", "")
        if wanted:
            greeting = next((g for g in greetings if str(g.pk) == wanted), None)
            if greeting is None:
                raise Http404("No such greeting in this shop.")
        today = local_today(shop)
        days = approved_calendar_list(shop=shop, start=today, greeting=greeting)
        months: OrderedDict = OrderedDict()
        for day in days:
            months.setdefault(day.date.replace(day=1), []).append(
                {
                    "day": day,
                    "names": [
                        (holiday, holiday_name_pick(holiday.names, language="en"), local_names(holiday))
                        for holiday in day.holidays
                    ],
                }
            )
        return self._page(
            request,
            "admin/journeys/campaigns/calendar.html",
            _("Holiday calendar of %s") % shop,
            shop=shop,
            shops=shops,
            greetings=greetings,
            greeting=greeting,
            months=months,
            today=today,
            total_dates=len(days),
        )

    # --- the review ------------------------------------------------------------------------------------------
    def review_view(self, request):
        shop, shops = self._shop(request, APPROVE if request.method == "POST" else VIEW)
        subdivisions_text = (request.POST.get("subdivisions") or request.GET.get("subdivisions") or "").strip()
        subdivisions = [code.strip().upper() for code in subdivisions_text.replace(";", ",").split(",") if code.strip()]
        today = local_today(shop)
        try:
            review = calendar_review(shop, start=today, subdivisions=subdivisions)
        except UnknownSubdivision as error:
            self.message_user(request, _("Unknown subdivision: %s (e.g. DE-BY, US-CA).") % error, messages.ERROR)
            subdivisions, subdivisions_text = [], ""
            review = calendar_review(shop, start=today)
        if request.method == "POST":
            self._review_apply(request, shop, review)
            query = {"shop": shop.pk, **({"subdivisions": subdivisions_text} if subdivisions_text else {})}
            return HttpResponseRedirect(reverse("admin:journeys_approvedholiday_review") + "?" + urlencode(query))
        months: OrderedDict = OrderedDict()
        for row in review.rows:
            candidate = row.candidate
            months.setdefault(candidate.date.replace(day=1), []).append(
                {
                    "row": row,
                    "slot": slot_of(candidate.country, candidate.subdivision, candidate.key, candidate.date),
                    "local_names": [
                        name
                        for language, name in candidate.names.items()
                        if language != "en" and name != candidate.name
                    ],
                }
            )
        may_approve = shop.pk in self.shop_ids_allowing(request, APPROVE)
        return self._page(
            request,
            "admin/journeys/campaigns/calendar_review.html",
            _("Review the holiday calendar of %s") % shop,
            shop=shop,
            shops=shops,
            review=review,
            months=months,
            subdivisions=subdivisions_text,
            may_approve=may_approve,
            approved_count=sum(1 for row in review.rows if row.approved is not None),
        )

    def _review_apply(self, request, shop: Merchant, review) -> None:
        """Approve the newly ticked candidates and withdraw the approved ones un-ticked, as the page showed them."""
        ticked = set(request.POST.getlist("approve"))
        shown: dict[str, int] = {}
        for value in request.POST.getlist("approved"):
            pk, _bar, slot = value.partition("|")
            if pk.isdigit():
                shown[slot] = int(pk)
        by_slot = {
            slot_of(row.candidate.country, row.candidate.subdivision, row.candidate.key, row.candidate.date): row
            for row in review.rows
        }
        unknown = sorted(slot for slot in ticked if slot not in by_slot)
        if unknown:
            self.message_user(
                request, _("Not in the calendar any more, not approved: %s.") % ", ".join(unknown), messages.ERROR
            )
        # Ticked and not approved yet (one approved meanwhile in another tab is left as it is).
        chosen = [
            by_slot[slot].candidate
            for slot in sorted(ticked)
            if slot in by_slot and slot not in shown and by_slot[slot].approved is None
        ]
        withdrawn = [pk for slot, pk in shown.items() if slot not in ticked]
        approved = calendar_approve(shop=shop, user=request.user, candidates=chosen) if chosen else []
        if approved:
            self.message_user(
                request,
                ngettext("%d date approved.", "%d dates approved.", len(approved)) % len(approved),
                messages.SUCCESS,
            )
        if withdrawn:
            try:
                count = calendar_unapprove(shop=shop, holiday_ids=withdrawn, user=request.user)
            except ValidationError as error:
                for _field, problem in error_items(error):
                    self.message_user(request, _("Not withdrawn: %s") % problem, messages.ERROR)
            else:
                self.message_user(
                    request, ngettext("%d date withdrawn.", "%d dates withdrawn.", count) % count, messages.SUCCESS
                )
        if not chosen and not withdrawn and not unknown:
            self.message_user(request, _("Nothing changed."), messages.INFO)


def local_names(holiday: ApprovedHoliday) -> list[str]:
    english = holiday.names.get("en", "")
    return list(dict.fromkeys(name for language, name in holiday.names.items() if language != "en" and name != english))

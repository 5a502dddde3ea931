"""Audiences and campaigns as a shop owner uses them in the admin: every page renders, nothing of another
shop is shown or reachable, forms name the field a problem is in, the buttons call the services, a test
goes to the owner, and the progress endpoint tells how far a campaign has got."""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys.campaigns import services
from journeys.campaigns.models import Audience, Campaign
from journeys.campaigns.tests.conftest import JUNE, admin_url, customer, messages_of, shop_rows
from journeys.models import Message
from merchant.actors import Actor
from merchant.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def campaign_form(rows, **changes) -> dict:
    return {
        "shop": rows.shop.pk,
        "name": "Autumn sale",
        "audience": rows.audience.pk,
        "timing": "customer_time",
        "send_on": "2026-07-15",
        "send_time": "10:00",
        "channel": "sms",
        "fallback_channel": "email",
        "message_class": "marketing",
        "coupon_pool": "",
        **changes,
    }


# --- pages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["campaign", "audience", "holidaygreeting", "shopdate", "approvedholiday"])
def test_every_list_add_and_change_page_renders_for_an_owner(client, owner, mine, model):
    client.force_login(owner)
    row = {
        "campaign": mine.campaign,
        "audience": mine.audience,
        "holidaygreeting": mine.greeting,
        "shopdate": mine.shop_date,
        "approvedholiday": mine.holiday,
    }[model]
    assert client.get(admin_url(model)).status_code == 200
    assert client.get(admin_url(model, "change", row.pk)).status_code == 200
    if model != "approvedholiday":  # approved through the review page
        assert client.get(admin_url(model, "add")).status_code == 200
    assert client.get(admin_url(model, "history", row.pk)).status_code == 200


def test_the_index_and_sidebar_group_campaigns_and_greetings(client, owner, mine):
    client.force_login(owner)
    page = client.get("/admin/").content.decode()
    group = page[page.index("Campaigns &amp; greetings") :]
    group = group[: group.index("</table>")]
    for name, url in [
        ("Campaigns", admin_url("campaign")),
        ("Holiday greetings", admin_url("holidaygreeting")),
        ("Holiday calendar", admin_url("approvedholiday")),
        ("Review the calendar", admin_url("approvedholiday", "review")),
        ("Audiences", admin_url("audience")),
        ("Shop dates", admin_url("shopdate")),
    ]:
        assert f'href="{url}"' in group, name
        assert name in group
    journeys = page[page.index(">Journeys<") :]
    assert "Audiences" not in journeys[: journeys.index("</table>")]
    # The sidebar of any admin page lists the same group.
    sidebar = client.get(admin_url("campaign")).content.decode()
    assert "Campaigns &amp; greetings" in sidebar
    assert admin_url("approvedholiday", "review") in sidebar


def test_an_agent_sees_the_pages_but_gets_no_buttons(client, agent, mine):
    client.force_login(agent)
    page = client.get(admin_url("campaign", "change", mine.campaign.pk))
    assert page.status_code == 200
    assert page.context["actions"] == []
    assert page.context["test_form"] is None
    assert all(field.disabled for field in page.context["adminform"].form.fields.values())
    assert client.post(admin_url("campaign", "action", mine.campaign.pk, "schedule")).status_code == 403
    assert client.post(admin_url("campaign", "test_send", mine.campaign.pk), {"channel": "email"}).status_code == 403
    assert client.get(admin_url("campaign", "add")).status_code == 403


@pytest.mark.parametrize("model", ["campaign", "audience", "holidaygreeting", "shopdate"])
def test_lists_take_the_same_queries_for_one_row_or_many(client, owner, mine, model, django_assert_num_queries):
    client.force_login(owner)
    client.get(admin_url(model))
    few = count_queries(client, admin_url(model))
    for n in range(5):
        shop_rows(mine.shop, f"more{n}")
    with django_assert_num_queries(few):
        assert client.get(admin_url(model)).status_code == 200


# --- tenancy ------------------------------------------------------------------------------------------------


class TestTenancy:
    @pytest.mark.parametrize(
        ("model", "row"),
        [
            ("campaign", "campaign"),
            ("audience", "audience"),
            ("holidaygreeting", "greeting"),
            ("approvedholiday", "holiday"),
            ("shopdate", "shop_date"),
        ],
    )
    @pytest.mark.parametrize("page", ["change", "history"])
    def test_another_shops_row_answers_404(self, client, owner, mine, theirs, model, row, page):
        client.force_login(owner)
        assert client.get(admin_url(model, page, getattr(theirs, row).pk)).status_code == 404
        assert client.post(admin_url(model, "change", getattr(theirs, row).pk), {"name": "Taken"}).status_code == 404

    def test_another_shops_campaign_progress_buttons_and_test_send_answer_404(self, client, owner, mine, theirs):
        client.force_login(owner)
        theirs_id = theirs.campaign.pk
        assert client.get(admin_url("campaign", "progress", theirs_id)).status_code == 404
        for action in ("schedule", "pause", "resume", "cancel", "unschedule"):
            assert client.post(admin_url("campaign", "action", theirs_id, action)).status_code == 404
        assert client.post(admin_url("campaign", "test_send", theirs_id), {"channel": "email"}).status_code == 404
        theirs.campaign.refresh_from_db()
        assert theirs.campaign.status == Campaign.Status.DRAFT
        assert not Message.objects.filter(campaign=theirs.campaign).exists()

    def test_lists_show_only_own_rows(self, client, owner, mine, theirs):
        client.force_login(owner)
        for model in ("campaign", "audience", "holidaygreeting", "shopdate"):
            page = client.get(admin_url(model)).content.decode()
            assert "alpha" in page, model
            assert "beta" not in page, model
        calendar = client.get(admin_url("approvedholiday"))
        assert [day.customers for month in calendar.context["months"].values() for day in
                [row["day"] for row in month]] == [1]  # fmt: skip

    def test_the_calendar_and_its_review_answer_404_for_another_shop_or_its_greeting(self, client, owner, mine, theirs):
        client.force_login(owner)
        assert client.get(admin_url("approvedholiday"), {"shop": theirs.shop.pk}).status_code == 404
        assert client.get(admin_url("approvedholiday"), {"greeting": theirs.greeting.pk}).status_code == 404
        assert client.get(admin_url("approvedholiday", "review"), {"shop": theirs.shop.pk}).status_code == 404
        response = client.post(admin_url("approvedholiday", "review"), {"shop": theirs.shop.pk, "approve": []})
        assert response.status_code == 404
        assert theirs.holiday.__class__.objects.filter(pk=theirs.holiday.pk).exists()

    def test_withdrawing_another_shops_approved_date_by_id_changes_nothing(self, client, owner, mine, theirs):
        client.force_login(owner)
        forged = f"{theirs.holiday.pk}|KR||chuseok|2026-09-25"
        client.post(admin_url("approvedholiday", "review"), {"shop": mine.shop.pk, "approved": [forged]})
        assert theirs.holiday.__class__.objects.filter(pk=theirs.holiday.pk).exists()

    def test_forms_offer_only_own_rows(self, client, owner, mine, theirs):
        client.force_login(owner)
        form = client.get(admin_url("campaign", "add")).context["adminform"].form
        assert list(form.fields["audience"].queryset) == [mine.audience]
        assert list(form.fields["coupon_pool"].queryset) == [mine.pool]
        assert list(form.fields["shop"].queryset) == [mine.shop]
        form = client.get(admin_url("audience", "change", mine.audience.pk)).context["adminform"].form
        assert list(form.fields["tags"].queryset) == [mine.tag]
        form = client.get(admin_url("holidaygreeting", "add")).context["adminform"].form
        assert list(form.fields["audience"].queryset) == [mine.audience]
        assert list(form.fields["coupon_pool"].queryset) == [mine.pool]
        assert [key for key, _label in form.fields["holiday_keys"].choices] == ["chuseok"]

    def test_posting_another_shops_audience_or_pool_is_refused(self, client, owner, mine, theirs):
        client.force_login(owner)
        response = client.post(
            admin_url("campaign", "add"), campaign_form(mine, audience=theirs.audience.pk, coupon_pool=theirs.pool.pk)
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert set(errors) == {"audience", "coupon_pool"}
        assert not Campaign.objects.filter(name="Autumn sale").exists()

    def test_the_outbox_link_of_another_shops_campaign_shows_nothing(self, client, owner, mine, theirs):
        Message.objects.create(
            shop=theirs.shop, campaign=theirs.campaign, rule=theirs.campaign.rule, trigger="campaign",
            idem_key="their-test", channel="email", address="x@beta.example", language="de", time_zone="UTC",
            status="sent", anchor_at=JUNE, not_before=JUNE, send_at=JUNE,
        )  # fmt: skip
        client.force_login(owner)
        listing = client.get(admin_url("message"), {"campaign": theirs.campaign.pk})
        assert listing.status_code == 200
        assert listing.context["cl"].result_count == 0


# --- creating and changing a campaign ------------------------------------------------------------------------


class TestCampaignForm:
    def test_creating_calls_the_service_and_shows_the_new_draft(self, client, owner, mine):
        client.force_login(owner)
        response = client.post(admin_url("campaign", "add"), campaign_form(mine, coupon_pool=mine.pool.pk))
        campaign = Campaign.objects.get(name="Autumn sale")
        assert response.status_code == 302
        assert response["Location"] == admin_url("campaign", "change", campaign.pk)
        assert (campaign.status, campaign.send_on, campaign.send_time) == ("draft", dt.date(2026, 7, 15), dt.time(10))
        assert (campaign.rule.trigger, campaign.rule.channel, campaign.rule.coupon_pool) == (
            "campaign",
            "sms",
            mine.pool,
        )
        assert campaign.created_by == owner
        assert campaign.rule.templates.count() == 10  # SMS and email in five languages

    def test_one_moment_in_the_shops_time_zone_is_stored_in_utc(self, client, owner, mine):
        client.force_login(owner)
        client.post(admin_url("campaign", "add"), campaign_form(mine, timing="shop_time", send_time="11:30"))
        campaign = Campaign.objects.get(name="Autumn sale")
        # 11:30 in New York (the shop) in July is 15:30 UTC.
        assert campaign.send_at == dt.datetime(2026, 7, 15, 15, 30, tzinfo=dt.UTC)
        assert campaign.send_on is None

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"name": ""}, "name"),
            ({"send_on": "15.07.2026x"}, "send_on"),
            ({"send_time": "25:00"}, "send_time"),
            ({"channel": "fax"}, "channel"),
            ({"fallback_channel": "sms"}, "fallback_channel"),
            ({"timing": "someday"}, "timing"),
        ],
    )
    def test_a_bad_value_is_shown_on_its_field_and_nothing_is_created(self, client, owner, mine, changes, field):
        client.force_login(owner)
        response = client.post(admin_url("campaign", "add"), campaign_form(mine, **changes))
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors
        assert not Campaign.objects.filter(name="Autumn sale").exists()

    def test_a_draft_is_changed_through_the_service_and_a_scheduled_one_is_not(self, client, owner, mine):
        client.force_login(owner)
        url = admin_url("campaign", "change", mine.campaign.pk)
        data = {"name": "Summer sale!", "audience": mine.audience.pk, "timing": "customer_time",
                "send_on": "2026-07-02", "send_time": "11:00"}  # fmt: skip
        assert client.post(url, data).status_code == 302
        mine.campaign.refresh_from_db()
        assert (mine.campaign.name, mine.campaign.send_on, mine.campaign.send_time) == (
            "Summer sale!", dt.date(2026, 7, 2), dt.time(11),
        )  # fmt: skip
        services.campaign_schedule(campaign=mine.campaign, actor=Actor.staff(owner))
        page = client.get(url)
        assert all(field.disabled for field in page.context["adminform"].form.fields.values())
        assert page.context["show_save"] is False
        client.post(url, {**data, "name": "Changed after scheduling"})
        mine.campaign.refresh_from_db()
        assert mine.campaign.name == "Summer sale!"


# --- the campaign's page ------------------------------------------------------------------------------------


class TestCampaignPage:
    def test_shows_who_will_get_what_with_each_local_send_time(self, client, owner, mine):
        client.force_login(owner)
        page = client.get(admin_url("campaign", "change", mine.campaign.pk))
        count, sample = page.context["count"], page.context["sample"]
        assert (count.total, count.reachable, count.by_country) == (2, 2, {"KR": 1, "DE": 1})
        assert {(r.country, r.language, r.channel, f"{r.local_send_at:%Y-%m-%d %H:%M}", r.time_zone) for r in sample} == {
            ("KR", "ko", "sms", "2026-07-01 10:00", "Asia/Seoul"),
            ("DE", "de", "sms", "2026-07-01 10:00", "Europe/Berlin"),
        }  # fmt: skip
        html = page.content.decode()
        assert "Wed 1 Jul 2026, 10:00</span>" not in html  # not converted to the viewer's zone
        assert 'Wed 1 Jul 2026, 10:00 <span class="muted">Asia/Seoul' in html
        assert 'Wed 1 Jul 2026, 10:00 <span class="muted">Europe/Berlin' in html
        assert f'href="{admin_url("carerule", "change", mine.campaign.rule_id)}"' in html
        assert f'href="{admin_url("message")}?campaign={mine.campaign.pk}"' in html
        assert 'role="progressbar"' in html

    def test_suppressed_recipients_are_counted_by_reason_in_the_preview(self, client, owner, mine):
        customer(mine.shop, "DE", "de", "Europe/Berlin", sms_marketing_consent_at=None, email_marketing_consent_at=None)
        client.force_login(owner)
        page = client.get(admin_url("campaign", "change", mine.campaign.pk))
        assert page.context["count"].suppressed == {"no_consent": 1}
        # Neither SMS nor email may be used: recorded with the first channel's reason, as the fan-out does.
        assert [r.why for r in page.context["sample"] if r.reason] == ["no SMS marketing consent"]

    def test_the_buttons_follow_the_status_and_call_the_services(self, client, owner, mine):
        client.force_login(owner)
        campaign = mine.campaign
        names = lambda: [name for name, _label, _url in client.get(  # noqa: E731
            admin_url("campaign", "change", campaign.pk)).context["actions"]]  # fmt: skip
        assert names() == ["schedule", "cancel"]
        response = client.post(admin_url("campaign", "action", campaign.pk, "schedule"))
        assert response.status_code == 302
        assert messages_of(response) == ["Scheduled: “alpha summer sale”."]
        campaign.refresh_from_db()
        assert campaign.status == "scheduled"
        assert names() == ["unschedule", "pause", "cancel"]
        client.post(admin_url("campaign", "action", campaign.pk, "pause"))
        campaign.refresh_from_db()
        assert campaign.status == "paused"
        assert names() == ["resume", "cancel"]
        client.post(admin_url("campaign", "action", campaign.pk, "resume"))
        campaign.refresh_from_db()
        assert campaign.status == "scheduled"
        client.post(admin_url("campaign", "action", campaign.pk, "cancel"))
        campaign.refresh_from_db()
        assert campaign.status == "cancelled"
        assert names() == []

    def test_a_refused_button_says_why_naming_the_field(self, client, owner, mine):
        services.campaign_update(campaign=mine.campaign, actor=Actor.staff(owner), send_on=dt.date(2026, 5, 1))
        client.force_login(owner)
        response = client.post(admin_url("campaign", "action", mine.campaign.pk, "schedule"))
        assert messages_of(response) == [
            "Schedule refused: Send on: That date has passed everywhere; pick a later one."
        ]
        response = client.post(admin_url("campaign", "action", mine.campaign.pk, "resume"))
        assert messages_of(response)[-1] == (
            "Resume refused: The campaign “alpha summer sale” is draft, not paused: there is nothing to resume."
        )
        mine.campaign.refresh_from_db()
        assert mine.campaign.status == "draft"

    def test_buttons_need_a_post_and_know_only_their_names(self, client, owner, mine):
        client.force_login(owner)
        assert client.get(admin_url("campaign", "action", mine.campaign.pk, "schedule")).status_code == 405
        assert client.post(admin_url("campaign", "action", mine.campaign.pk, "explode")).status_code == 404

    def test_buttons_need_the_csrf_token(self, owner, mine):
        from django.test import Client

        browser = Client(enforce_csrf_checks=True)
        browser.force_login(owner)
        assert browser.post(admin_url("campaign", "action", mine.campaign.pk, "schedule")).status_code == 403
        mine.campaign.refresh_from_db()
        assert mine.campaign.status == "draft"

    def test_the_test_send_goes_to_the_owners_email_by_default(self, client, owner, mine):
        client.force_login(owner)
        page = client.get(admin_url("campaign", "change", mine.campaign.pk))
        assert page.context["test_form"].initial == {"to": "owner@alpha.example", "channel": "email"}
        response = client.post(admin_url("campaign", "test_send", mine.campaign.pk), {"channel": "email", "to": ""})
        assert messages_of(response) == ["Test sent to owner@alpha.example."]
        (email,) = mail.outbox
        assert email.to == ["owner@alpha.example"]
        assert email.subject.startswith("[Test]")
        test = Message.objects.get(campaign=mine.campaign)
        assert (test.step, test.status, test.customer) == ("test", "sent", None)
        assert client.get(admin_url("campaign", "progress", mine.campaign.pk)).json()["planned"] == 0

    def test_a_bad_test_address_names_the_field(self, client, owner, mine):
        client.force_login(owner)
        response = client.post(admin_url("campaign", "test_send", mine.campaign.pk), {"channel": "sms", "to": "12"})
        assert messages_of(response) == ["Test not sent: To: “12” is not a phone number that can take texts."]
        assert not Message.objects.filter(campaign=mine.campaign).exists()

    def test_the_progress_endpoint_counts_by_status_and_reason(self, client, owner, mine, django_assert_num_queries):
        def row(status, reason="", n=0, **extra):
            return Message.objects.create(
                shop=mine.shop, campaign=mine.campaign, rule=mine.campaign.rule, trigger="campaign", step="0",
                idem_key=f"p-{status}-{reason}-{n}", channel="sms", address="+821012345678", language="ko",
                time_zone="Asia/Seoul", status=status, reason=reason, anchor_at=JUNE, not_before=JUNE, send_at=JUNE,
                **extra,
            )  # fmt: skip

        for n in range(3):
            row("scheduled", n=n)
        row("delivered", clicked_at=JUNE)
        row("sent")
        row("suppressed", "no_consent")
        row("suppressed", "budget")
        row("failed")
        client.force_login(owner)
        url = admin_url("campaign", "progress", mine.campaign.pk)
        client.get(url)
        # The session, the user, their shops (roles, time zone), the campaign, then one grouped count.
        with django_assert_num_queries(6):
            data = client.get(url).json()
        assert {key: data[key] for key in ("planned", "scheduled", "sent", "delivered", "clicked", "failed")} == {
            "planned": 8, "scheduled": 3, "sent": 2, "delivered": 1, "clicked": 1, "failed": 1,
        }  # fmt: skip
        assert {s["reason"]: s["count"] for s in data["suppressed"]} == {"no_consent": 1, "budget": 1}
        assert (data["percent"], data["status"], data["live"]) == (62, "draft", False)


class TestCareRules:
    def test_campaign_and_greeting_rules_leave_the_care_rules_list_but_keep_their_page(self, client, owner, mine):
        client.force_login(owner)
        listing = client.get(admin_url("carerule"))
        shown = {rule.trigger for rule in listing.context["cl"].result_list}
        assert "campaign" not in shown
        assert "holiday_greeting" not in shown
        page = client.get(admin_url("carerule", "change", mine.campaign.rule_id))
        assert page.status_code == 200
        assert f'href="{admin_url("campaign", "change", mine.campaign.pk)}"' in page.content.decode()
        page = client.get(admin_url("carerule", "change", mine.greeting.rule_id)).content.decode()
        assert f'href="{admin_url("holidaygreeting", "change", mine.greeting.pk)}"' in page


# --- audiences -------------------------------------------------------------------------------------------------


class TestAudiences:
    def data(self, rows, **changes):
        return {"shop": rows.shop.pk, "name": "Korean VIPs", "target": "customers", "countries": ["KR"],
                "languages": ["ko"], "tags": [rows.tag.pk], "min_orders": "0", "warehouses": "", **changes}  # fmt: skip

    def test_created_with_its_filters_through_the_service(self, client, owner, mine):
        client.force_login(owner)
        response = client.post(admin_url("audience", "add"), self.data(mine))
        assert response.status_code == 302, response.context["adminform"].form.errors
        audience = Audience.objects.get(name="Korean VIPs")
        assert ([c.code for c in audience.countries], audience.languages) == (["KR"], ["ko"])
        assert list(audience.tags.all()) == [mine.tag]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"name": "alpha everyone"}, "name"),
            ({"order_statuses": ["paid"]}, "order_statuses"),
            ({"warehouses": "east"}, "warehouses"),
            ({"languages": ["xx"]}, "languages"),
        ],
    )
    def test_a_problem_is_shown_on_its_field(self, client, owner, mine, changes, field):
        client.force_login(owner)
        response = client.post(admin_url("audience", "add"), self.data(mine, **changes))
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors
        assert not Audience.objects.filter(name="Korean VIPs").exists()

    def test_another_shops_tag_cannot_be_posted(self, client, owner, mine, theirs):
        client.force_login(owner)
        response = client.post(admin_url("audience", "add"), self.data(mine, tags=[theirs.tag.pk]))
        assert "tags" in response.context["adminform"].form.errors

    def test_the_change_page_previews_the_count(self, client, owner, mine):
        client.force_login(owner)
        page = client.get(admin_url("audience", "change", mine.audience.pk))
        assert (page.context["count"].total, page.context["count"].by_language) == (2, {"ko": 1, "de": 1})
        assert [r.send_at for r in page.context["sample"]] == [None, None]

    def test_an_audience_of_orders_by_warehouse(self, client, owner, mine):
        order = OrderFactory(shop=mine.shop, customer=mine.shop.customers.first(), status="paid", warehouse="east")
        OrderFactory(shop=mine.shop, customer=mine.shop.customers.last(), status="paid", warehouse="west")
        client.force_login(owner)
        data = self.data(mine, name="East delays", target="orders", countries=[], languages=[], tags=[],
                         order_statuses=["paid"], warehouses="east")  # fmt: skip
        assert client.post(admin_url("audience", "add"), data).status_code == 302
        audience = Audience.objects.get(name="East delays")
        page = client.get(admin_url("audience", "change", audience.pk))
        assert [r.order for r in page.context["sample"]] == [order]

    def test_the_calendar_count_and_the_fanout_agree_on_who_is_in(self, mine):
        from journeys.campaigns.selectors import audience_count, audience_customers_q
        from merchant.models import Customer

        # No language of their own: the message is in the shop's (English).
        customer(mine.shop, "KR", "", "Asia/Seoul")
        audience = Audience.objects.create(shop=mine.shop, name="English", languages=["en"])
        in_calendar = Customer.objects.filter(audience_customers_q(audience, now=JUNE)).count()
        assert in_calendar == audience_count(audience, now=JUNE).total == 1


def test_the_message_of_a_campaign_is_edited_on_its_rule_page(client, owner, mine):
    from journeys.tests.test_admin_rules import form_data

    client.force_login(owner)
    url = admin_url("carerule", "change", mine.campaign.rule_id)
    data = form_data(client.get(url))
    sms_en = next(
        key[: -len("-language")]
        for key, value in data.items()
        if key.endswith("-language") and value == "en" and data[key.replace("-language", "-channel")] == "sms"
    )
    data[f"{sms_en}-body"] = "Summer sale: 20% off until Sunday, {{ customer.first_name }}!"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    template = mine.campaign.rule.templates.get(channel="sms", language="en")
    assert template.body == "Summer sale: 20% off until Sunday, {{ customer.first_name }}!"
    mine.campaign.rule.refresh_from_db()
    assert (mine.campaign.rule.trigger, mine.campaign.rule.is_active) == ("campaign", False)

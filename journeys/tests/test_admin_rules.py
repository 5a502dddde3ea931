"""Care rules, their templates and coupon pools as shop owners and agents use them in the admin."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from journeys.models import CareRule, Coupon, CouponPool, Message, MessageTemplate
from journeys.services.coupons import coupon_codes_add
from journeys.tests.factories import (
    CareRuleFactory,
    CouponFactory,
    CouponPoolFactory,
    MessageFactory,
    MessageTemplateFactory,
)
from merchant.actors import Actor
from merchant.services import orders
from merchant.tests.factories import CustomerFactory, OrderFactory, TagFactory

pytestmark = pytest.mark.django_db


def admin_url(model: str, action: str = "changelist", *args) -> str:
    return reverse(f"admin:journeys_{model}_{action}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def form_data(response) -> dict:
    """What the browser would post back unchanged: the main form and every inline formset."""
    data: dict = {}

    def put(form, name):
        value = form[name].value()
        key = form.add_prefix(name)
        if value is None:
            return
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item) for item in value]
        else:
            data[key] = str(value)

    form = response.context["adminform"].form
    for name in form.fields:
        put(form, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            put(formset.management_form, name)
        for child in formset.forms:
            for name in child.fields:
                put(child, name)
    return data


def delivered_order(shop, customer, number="#A1"):
    """An order that went through the real lifecycle, so its timestamps and events exist."""
    actor = Actor.system("test")
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="USD",
        actor=actor,
        customer=customer,
        lines=[orders.LineInput(title="Trail shoes", unit_price=Decimal("80.00"))],
    )
    orders.order_mark_paid(order=order, actor=actor)
    orders.order_mark_shipped(order=order, actor=actor, carrier="UPS", tracking_number="1Z999")
    return orders.order_mark_delivered(order=order, actor=actor)


@pytest.fixture
def rule(shop):
    rule = CareRuleFactory(shop=shop, name="Thanks for your order", trigger="delivered", channel="sms")
    MessageTemplateFactory(rule=rule, channel="sms", language="en", body="Hi {{ customer.first_name }}!\nEnjoy.")
    return rule


@pytest.fixture
def their_rule(other_shop):
    rule = CareRuleFactory(shop=other_shop, name="Danke schön", trigger="delivered")
    MessageTemplateFactory(rule=rule)
    return rule


class TestTenancy:
    def test_lists_show_only_own_rules_and_pools(self, client, owner, rule, their_rule):
        CouponPoolFactory(shop=rule.shop, name="Alpha welcome back")
        CouponPoolFactory(shop=their_rule.shop, name="Beta Rabatt")
        client.force_login(owner)
        rules_page = client.get(admin_url("carerule")).content.decode()
        assert "Thanks for your order" in rules_page
        assert "Danke schön" not in rules_page
        pools_page = client.get(admin_url("couponpool")).content.decode()
        assert "Alpha welcome back" in pools_page
        assert "Beta Rabatt" not in pools_page

    @pytest.mark.parametrize("page", ["change", "dry_run", "calendar", "history"])
    def test_another_shops_rule_pages_answer_404(self, client, owner, their_rule, page):
        client.force_login(owner)
        assert client.get(admin_url("carerule", page, their_rule.pk)).status_code == 404

    def test_another_shops_template_preview_answers_404(self, client, owner, rule, their_rule):
        client.force_login(owner)
        theirs = their_rule.templates.get()
        assert client.get(admin_url("carerule", "preview", their_rule.pk, theirs.pk)).status_code == 404
        # nor through one's own rule
        assert client.get(admin_url("carerule", "preview", rule.pk, theirs.pk)).status_code == 404

    def test_preview_with_another_shops_order_answers_404(self, client, owner, rule, other_shop):
        their_order = OrderFactory(shop=other_shop)
        client.force_login(owner)
        template = rule.templates.get()
        response = client.get(admin_url("carerule", "preview", rule.pk, template.pk), {"order": their_order.pk})
        assert response.status_code == 404

    def test_another_shops_pool_answers_404(self, client, owner, other_shop):
        pool = CouponPoolFactory(shop=other_shop)
        client.force_login(owner)
        assert client.get(admin_url("couponpool", "change", pool.pk)).status_code == 404

    def test_rule_form_offers_only_own_pools_and_tags(self, client, owner, rule, other_shop):
        mine, theirs = CouponPoolFactory(shop=rule.shop), CouponPoolFactory(shop=other_shop)
        my_tag, their_tag = TagFactory(shop=rule.shop), TagFactory(shop=other_shop)
        client.force_login(owner)
        form = client.get(admin_url("carerule", "change", rule.pk)).context["adminform"].form
        assert list(form.fields["coupon_pool"].queryset) == [mine]
        assert list(form.fields["customer_tags"].queryset) == [my_tag]
        assert theirs not in form.fields["coupon_pool"].queryset
        assert their_tag not in form.fields["customer_tags"].queryset


class TestEditingRules:
    def test_owner_changes_timing_and_conditions(self, client, owner, rule):
        client.force_login(owner)
        page = client.get(admin_url("carerule", "change", rule.pk))
        data = form_data(page)
        data.update(
            {
                "delay_amount": "2",
                "delay_unit": "days",
                "product_categories": "shoes,  socks , shoes",
                "customer_countries": ["US", "CA"],
                "min_order_total": "20.00",
            }
        )
        response = client.post(admin_url("carerule", "change", rule.pk), data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        rule.refresh_from_db()
        assert (rule.delay_amount, rule.delay_unit) == (2, "days")
        assert rule.product_categories == ["shoes", "socks"]
        assert sorted(country.code for country in rule.customer_countries) == ["CA", "US"]
        listing = client.get(admin_url("carerule")).content.decode()
        assert "2 days" in listing
        assert "SMS → Email" in listing

    def test_categories_show_as_comma_separated_text(self, client, owner, rule):
        CareRule.objects.filter(pk=rule.pk).update(product_categories=["vouchers", "appliances"])
        client.force_login(owner)
        page = client.get(admin_url("carerule", "change", rule.pk)).content.decode()
        assert 'value="vouchers, appliances"' in page

    def test_turning_a_rule_off_goes_through_the_service_and_cancels_its_scheduled_messages(self, client, owner, rule):
        CareRule.objects.filter(pk=rule.pk).update(is_active=True)
        planned = MessageFactory(shop=rule.shop, rule=rule, status="scheduled")
        client.force_login(owner)
        data = form_data(client.get(admin_url("carerule", "change", rule.pk)))
        data.pop("is_active")
        response = client.post(admin_url("carerule", "change", rule.pk), data)
        assert response.status_code == 302
        planned.refresh_from_db()
        assert (planned.status, planned.reason) == ("cancelled", "rule_disabled")

    def test_owner_adds_a_rule_with_its_first_template(self, client, owner, shop):
        client.force_login(owner)
        data = form_data(client.get(admin_url("carerule", "add")))
        data.update(
            {
                "name": "Review nudge",
                "trigger": "delivered",
                "channel": "email",
                "fallback_channel": "",
                "templates-0-channel": "email",
                "templates-0-language": "en",
                "templates-0-subject": "How is order {{ order.number }}?",
                "templates-0-body": "Hi {{ customer.first_name }}, how do you like it?",
            }
        )
        response = client.post(admin_url("carerule", "add"), data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        rule = CareRule.objects.get(name="Review nudge")
        assert (rule.shop, rule.is_active) == (shop, False)
        assert rule.templates.get().subject == "How is order {{ order.number }}?"

    def test_a_service_check_shows_on_its_field_and_nothing_is_saved(self, client, owner, rule):
        client.force_login(owner)
        data = form_data(client.get(admin_url("carerule", "change", rule.pk)))
        data.update({"name": "Renamed", "channel": "sms", "fallback_channel": "sms"})
        response = client.post(admin_url("carerule", "change", rule.pk), data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "The fallback must be another channel than the first." in errors["fallback_channel"]
        rule.refresh_from_db()
        assert rule.name == "Thanks for your order"

    def test_marketing_rules_cannot_send_at_any_hour(self, client, owner, rule):
        client.force_login(owner)
        data = form_data(client.get(admin_url("carerule", "change", rule.pk)))
        data.update({"message_class": "marketing", "send_any_hour": "on"})
        response = client.post(admin_url("carerule", "change", rule.pk), data)
        assert response.status_code == 200
        assert "Only transactional" in str(response.context["adminform"].form.errors["send_any_hour"])

    def test_a_tag_of_another_shop_is_refused(self, client, owner, rule, other_shop):
        # An owner of both shops sees both shops' tags in the picker; the rule takes only its own.
        from merchant.services import membership_set

        membership_set(shop=other_shop, user=owner, role="owner")
        their_tag = TagFactory(shop=other_shop, name="vip-beta")
        client.force_login(owner)
        data = form_data(client.get(admin_url("carerule", "change", rule.pk)))
        data["customer_tags"] = [str(their_tag.pk)]
        response = client.post(admin_url("carerule", "change", rule.pk), data)
        assert response.status_code == 200
        assert "Pick tags of this rule's shop." in response.context["adminform"].form.errors["customer_tags"]
        assert not rule.customer_tags.exists()

    def test_a_duplicate_name_is_refused_on_the_name(self, client, owner, rule):
        CareRuleFactory(shop=rule.shop, name="Taken")
        client.force_login(owner)
        data = form_data(client.get(admin_url("carerule", "change", rule.pk)))
        data["name"] = "Taken"
        response = client.post(admin_url("carerule", "change", rule.pk), data)
        assert response.status_code == 200
        assert "name" in response.context["adminform"].form.errors

    def test_agent_sees_a_rule_but_cannot_change_it(self, client, agent, rule):
        client.force_login(agent)
        page = client.get(admin_url("carerule", "change", rule.pk))
        assert page.status_code == 200
        html = page.content.decode()
        assert 'name="name"' not in html
        assert "Dry run" in html
        assert client.get(admin_url("carerule", "add")).status_code == 403
        response = client.post(admin_url("carerule", "change", rule.pk), {"name": "Agent was here"})
        assert response.status_code == 403
        rule.refresh_from_db()
        assert rule.name == "Thanks for your order"


class TestTemplates:
    @staticmethod
    def post_body(client, rule, body: str, **changes):
        data = form_data(client.get(admin_url("carerule", "change", rule.pk)))
        data["templates-0-body"] = body
        data.update(changes)
        return client.post(admin_url("carerule", "change", rule.pk), data)

    def test_an_unknown_variable_is_refused_with_its_line_and_name(self, client, owner, rule):
        client.force_login(owner)
        response = self.post_body(client, rule, "Hello!\nYour order {{ order.nubmer }} is here.", name="Renamed")
        assert response.status_code == 200
        formset = response.context["inline_admin_formsets"][0].formset
        errors = " ".join(formset.forms[0].errors["body"])
        assert "Line 2" in errors
        assert "order.nubmer" in errors
        assert "order.number" in errors, "the known names are listed"
        assert escape("unknown variable “order.nubmer”") in response.content.decode()
        assert rule.templates.get().body == "Hi {{ customer.first_name }}!\nEnjoy."
        rule.refresh_from_db()
        assert rule.name == "Thanks for your order"

    def test_a_syntax_error_is_refused_with_its_line(self, client, owner, rule):
        client.force_login(owner)
        response = self.post_body(client, rule, "Hello!\n\n{% if %}free shipping{% endif %}")
        assert response.status_code == 200
        errors = " ".join(response.context["inline_admin_formsets"][0].formset.forms[0].errors["body"])
        assert "Line 3" in errors
        assert rule.templates.get().body == "Hi {{ customer.first_name }}!\nEnjoy."

    def test_an_email_needs_a_subject(self, client, owner, rule):
        client.force_login(owner)
        response = self.post_body(client, rule, "Hi", **{"templates-0-channel": "email", "templates-0-subject": ""})
        assert response.status_code == 200
        assert (
            "An email needs a subject."
            in response.context["inline_admin_formsets"][0].formset.forms[0].errors["subject"]
        )

    def test_a_valid_change_is_saved(self, client, owner, rule):
        client.force_login(owner)
        response = self.post_body(client, rule, "Hi {{ customer.first_name }}, {{ order.number }} arrived.")
        assert response.status_code == 302
        assert rule.templates.get().body == "Hi {{ customer.first_name }}, {{ order.number }} arrived."

    def test_the_rule_page_links_each_template_to_its_preview(self, client, owner, rule):
        client.force_login(owner)
        template = rule.templates.get()
        page = client.get(admin_url("carerule", "change", rule.pk)).content.decode()
        assert admin_url("carerule", "preview", rule.pk, template.pk) in page
        assert admin_url("carerule", "dry_run", rule.pk) in page
        assert admin_url("carerule", "calendar", rule.pk) in page
        assert "customer.first_name" in page, "the variables a template may use are listed"
        assert "Worst case: 1 segment, GSM-7" in page


class TestPreview:
    def test_korean_sms_shows_ucs2_segments_and_the_worst_case(self, client, agent, shop):
        customer = CustomerFactory(shop=shop, first_name="민서", last_name="최", language="ko", time_zone="Asia/Seoul")
        order = delivered_order(shop, customer, number="#K1")
        rule = CareRuleFactory(shop=shop, trigger="delivered")
        template = MessageTemplateFactory(
            rule=rule,
            channel="sms",
            language="ko",
            body="{{ customer.first_name }}님, 주문 {{ order.number }}이 도착했습니다.",
        )
        client.force_login(agent)
        response = client.get(admin_url("carerule", "preview", rule.pk, template.pk))
        assert response.status_code == 200
        real, worst = response.context["real"], response.context["worst"]
        assert real.body == "민서님, 주문 #K1이 도착했습니다."
        assert (real.sms.encoding, real.sms.segments) == ("UCS-2", 1)
        assert real.forcing_characters[:2] == ("민", "서")
        assert worst.sms.encoding == "UCS-2"
        assert "Maximilian-Alexander" in worst.body
        page = response.content.decode()
        assert "UCS-2" in page
        assert "1 segment" in page
        assert "Worst case" in page
        assert f"{worst.sms.segments} segment" in page
        assert "#K1" in page
        assert f'value="{order.pk}" selected' in page

    def test_a_long_english_sms_shows_gsm7_and_several_segments(self, client, owner, rule):
        template = rule.templates.get()
        MessageTemplate.objects.filter(pk=template.pk).update(body="Hi {{ customer.first_name }}! " + "x" * 200)
        delivered_order(rule.shop, CustomerFactory(shop=rule.shop, first_name="Ann"))
        client.force_login(owner)
        response = client.get(admin_url("carerule", "preview", rule.pk, template.pk))
        assert (response.context["real"].sms.encoding, response.context["real"].sms.segments) == ("GSM-7", 2)
        assert "2 segments" in response.content.decode()

    def test_without_orders_the_worst_case_and_sample_values_are_shown(self, client, owner, rule):
        client.force_login(owner)
        response = client.get(admin_url("carerule", "preview", rule.pk, rule.templates.get().pk))
        assert response.status_code == 200
        assert response.context["real"] is None
        page = response.content.decode()
        assert "No orders yet" in page
        assert "Worst case" in page
        assert "Sample values" in page
        assert "Maximilian-Alexander" in page

    def test_an_email_shows_subject_text_and_html_in_a_sandbox(self, client, owner, shop):
        rule = CareRuleFactory(shop=shop, channel="email", fallback_channel="")
        template = MessageTemplateFactory(
            rule=rule,
            channel="email",
            subject="Order {{ order.number }} arrived",
            body="Hi {{ customer.first_name }}",
            html_body="<p>Hi <b>{{ customer.first_name }}</b></p>",
        )
        order = delivered_order(shop, CustomerFactory(shop=shop, first_name="Ann"), number="#E1")
        client.force_login(owner)
        response = client.get(admin_url("carerule", "preview", rule.pk, template.pk), {"order": order.pk})
        page = response.content.decode()
        assert "Order #E1 arrived" in page
        assert 'sandbox="" srcdoc="&lt;p&gt;Hi &lt;b&gt;Ann&lt;/b&gt;&lt;/p&gt;"' in page

    def test_the_order_picker_offers_the_shops_recent_orders(self, client, owner, rule, other_shop):
        mine = [OrderFactory(shop=rule.shop, number=f"#A{n}") for n in range(3)]
        OrderFactory(shop=other_shop, number="#B1")
        client.force_login(owner)
        response = client.get(admin_url("carerule", "preview", rule.pk, rule.templates.get().pk))
        assert {order.number for order in response.context["orders"]} == {order.number for order in mine}


class TestDryRun:
    def test_lists_what_a_delivered_rule_would_plan_for_an_existing_delivered_order(self, client, owner, shop):
        customer = CustomerFactory(shop=shop, first_name="Ann", last_name="Lee", time_zone="America/Chicago")
        delivered_order(shop, customer, number="#D1")
        OrderFactory(shop=shop, number="#P1", status="paid")  # not delivered: not planned
        rule = CareRuleFactory(shop=shop, trigger="delivered", is_active=False, delay_amount=2, delay_unit="hours")
        client.force_login(owner)
        response = client.get(admin_url("carerule", "dry_run", rule.pk))
        assert response.status_code == 200
        run = response.context["run"]
        assert run.count == 1
        assert run.sample[0].order.number == "#D1"
        page = response.content.decode()
        assert "would plan <strong>1</strong> message" in page
        assert "#D1" in page
        assert "#P1" not in page
        assert "Ann Lee" in page
        assert "America/Chicago" in page
        assert escape(run.sample[0].explanation) in page
        assert not Message.objects.exists(), "a dry run writes nothing"

    def test_a_rule_with_nothing_to_do_says_so(self, client, owner, rule):
        client.force_login(owner)
        page = client.get(admin_url("carerule", "dry_run", rule.pk)).content.decode()
        assert "would plan no messages" in page


class TestCalendar:
    def test_counts_scheduled_messages_per_day_in_the_shops_zone(self, client, owner, rule):
        # Alpha Shoes is on New York time: 03:00 UTC on the 3rd is still the 2nd there.
        now = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
        for send_at, status in [
            ("2026-03-02T16:00", "scheduled"),
            ("2026-03-03T03:00", "scheduled"),  # 2 Mar 22:00 in New York
            ("2026-03-03T14:00", "scheduled"),
            ("2026-03-03T15:00", "scheduled"),
            ("2026-03-03T16:00", "cancelled"),  # not scheduled: not counted
            ("2026-03-12T14:00", "scheduled"),  # beyond 7 days
        ]:
            moment = dt.datetime.fromisoformat(send_at).replace(tzinfo=dt.UTC)
            MessageFactory(shop=rule.shop, rule=rule, status=status, send_at=moment)
        MessageFactory(shop=rule.shop, status="scheduled", send_at=now)  # another rule's
        client.force_login(owner)
        with time_machine.travel(now, tick=False):
            response = client.get(admin_url("carerule", "calendar", rule.pk))
        assert response.status_code == 200
        counts = [(row["day"].day.isoformat(), row["day"].count) for row in response.context["rows"]]
        assert counts == [
            ("2026-03-02", 2),
            ("2026-03-03", 2),
            ("2026-03-04", 0),
            ("2026-03-05", 0),
            ("2026-03-06", 0),
            ("2026-03-07", 0),
            ("2026-03-08", 0),
        ]
        assert response.context["total"] == 4
        page = response.content.decode()
        assert 'style="width: 100%"' in page
        assert "4 messages of this rule are scheduled" in page

    def test_the_calendar_uses_one_query_whatever_the_number_of_messages(self, client, owner, rule):
        client.force_login(owner)
        url = admin_url("carerule", "calendar", rule.pk)
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        now = timezone.now()
        for hours in range(40):
            MessageFactory(shop=rule.shop, rule=rule, send_at=now + dt.timedelta(hours=hours))
        with CaptureQueriesContext(connection) as many:
            response = client.get(url)
        assert response.context["total"] == 40
        assert len(few.captured_queries) == len(many.captured_queries)

    def test_a_days_count_links_to_those_messages_in_the_outbox(self, client, owner, rule):
        MessageFactory(shop=rule.shop, rule=rule, send_at=timezone.now() + dt.timedelta(minutes=5))
        client.force_login(owner)
        row = next(
            row for row in client.get(admin_url("carerule", "calendar", rule.pk)).context["rows"] if row["day"].count
        )
        outbox = client.get(row["url"])
        assert outbox.status_code == 200
        assert outbox.context["cl"].result_count == 1


class TestListsUseConstantQueries:
    @staticmethod
    def count(client, url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    def test_rule_list(self, client, owner, shop):
        client.force_login(owner)
        CareRuleFactory(shop=shop)
        client.get(admin_url("carerule"))
        few = self.count(client, admin_url("carerule"))
        CareRuleFactory.create_batch(15, shop=shop)
        assert self.count(client, admin_url("carerule")) == few

    def test_pool_list_counts_free_and_used_codes(self, client, owner, shop, django_assert_num_queries):
        pool = CouponPoolFactory(shop=shop, name="Welcome back")
        CouponFactory.create_batch(3, pool=pool)
        CouponFactory(pool=pool, message=MessageFactory(shop=shop))
        client.force_login(owner)
        client.get(admin_url("couponpool"))
        few = self.count(client, admin_url("couponpool"))
        for _ in range(10):
            CouponFactory.create_batch(2, pool=CouponPoolFactory(shop=shop))
        with django_assert_num_queries(few):
            response = client.get(admin_url("couponpool"))
        row = response.context["cl"].result_list.get(pk=pool.pk)
        assert (row.free_count, row.used_count) == (3, 1)


class TestCouponPools:
    def test_owner_creates_a_pool_and_pastes_codes_with_duplicates_reported(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(
            admin_url("couponpool", "add"),
            {"shop": shop.pk, "name": "Welcome back", "description": "10% off", "add_codes": "A1\n\nB2\nA1\n  C3  \n"},
        )
        assert response.status_code == 302
        pool = CouponPool.objects.get(name="Welcome back")
        assert sorted(pool.coupons.values_list("code", flat=True)) == ["A1", "B2", "C3"]
        texts = messages_of(response)
        assert "3 codes added." in texts
        assert any("1 code skipped" in text and "A1" in text for text in texts)

    def test_adding_codes_the_pool_has_reports_them_and_adds_the_rest(self, client, owner, shop):
        pool = CouponPoolFactory(shop=shop, name="Welcome back")
        CouponFactory(pool=pool, code="A1")
        client.force_login(owner)
        response = client.post(
            admin_url("couponpool", "change", pool.pk),
            {"name": "Welcome back", "description": "", "add_codes": "A1\nZ9"},
            follow=True,
        )
        assert response.status_code == 200
        assert sorted(pool.coupons.values_list("code", flat=True)) == ["A1", "Z9"]
        page = response.content.decode()
        assert "1 code added." in page
        assert "the pool has it already" in page

    def test_a_code_that_is_too_long_is_refused_with_its_line(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(
            admin_url("couponpool", "add"), {"shop": shop.pk, "name": "P", "add_codes": "OK1\n" + "X" * 65}
        )
        assert response.status_code == 200
        assert "Line 2" in str(response.context["adminform"].form.errors["add_codes"])
        assert not CouponPool.objects.exists()
        assert not Coupon.objects.exists()

    def test_agent_sees_pools_but_adds_no_codes(self, client, agent, shop):
        pool = CouponPoolFactory(shop=shop)
        client.force_login(agent)
        page = client.get(admin_url("couponpool", "change", pool.pk))
        assert page.status_code == 200
        assert 'name="add_codes"' not in page.content.decode()
        assert client.get(admin_url("couponpool", "add")).status_code == 403
        response = client.post(admin_url("couponpool", "change", pool.pk), {"name": pool.name, "add_codes": "A"})
        assert response.status_code == 403
        assert not pool.coupons.exists()

    def test_the_service_reports_codes_given_twice(self, shop):
        pool = CouponPoolFactory(shop=shop)
        added, duplicates = coupon_codes_add(pool=pool, codes=["A", "B", "A"])
        assert (added, duplicates) == (["A", "B"], ["A"])
        added, duplicates = coupon_codes_add(pool=pool, codes=["B", "C"])
        assert (added, duplicates) == (["C"], ["B"])

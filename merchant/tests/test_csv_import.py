"""CSV import in the admin: upload, dry-run preview with every bad row by line, then all or nothing."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from merchant.models import Customer, Order
from merchant.platforms.csv_files import customers_from_csv, orders_from_csv

pytestmark = pytest.mark.django_db

CUSTOMERS = """external_id,first_name,last_name,email,phone,country,language,tags,sms_marketing_consent_at
c-1,Anna,Schmidt,anna@example.com,0151 23456789,DE,de,vip;wholesale,2026-10-01
c-2,민서,최,minseo@example.com,010-2345-6789,KR,ko,,
c-3,Bob,Norman,bob@example.com,555-555-SHIP,US,en,,
"""
ORDERS = """order_id,number,currency,placed_at,customer_id,customer_email,customer_phone,customer_country,line_id,line_title,line_quantity,line_unit_price,shipping_total,paid_at,shipped_at,carrier,tracking_number,delivered_at
o-1,#5001,EUR,2026-11-01T10:00:00Z,c-1,anna@example.com,+49 151 23456789,DE,l-1,Trail shoes,1,89.00,4.90,2026-11-01T10:05:00Z,2026-11-02T08:00:00Z,DHL,0034,2026-11-04T12:00:00Z
o-1,#5001,EUR,2026-11-01T10:00:00Z,c-1,anna@example.com,+49 151 23456789,DE,l-2,Socks,2,5.50,4.90,2026-11-01T10:05:00Z,2026-11-02T08:00:00Z,DHL,0034,2026-11-04T12:00:00Z
o-2,#5002,EUR,2026-11-10,,walk-in@example.com,,DE,,Gift card,1,25.00,,,,,,
"""


def upload(client, model: str, shop, text: str, **extra):
    data = {"shop": shop.pk, "file": SimpleUploadedFile("data.csv", text.encode("utf-8-sig"), "text/csv"), **extra}
    return client.post(reverse(f"admin:merchant_{model}_import"), data)


def confirm(client, model: str, preview_response):
    context = preview_response.context
    return client.post(
        reverse(f"admin:merchant_{model}_import"),
        {"shop": context["shop"].pk, "content": context["content"], "confirm": "1"},
    )


class TestCustomers:
    def test_dry_run_changes_nothing_then_the_import_creates_everyone(self, client, owner, shop):
        client.force_login(owner)
        preview = upload(client, "customer", shop, CUSTOMERS)
        assert preview.status_code == 200
        assert "Dry run:</strong> 3 customers" in preview.content.decode()
        assert not Customer.objects.exists()
        response = confirm(client, "customer", preview)
        assert response.status_code == 302
        anna = Customer.objects.get(external_id="c-1")
        assert (anna.phone.as_e164, anna.time_zone, sorted(anna.tags.values_list("name", flat=True))) == (
            "+4915123456789", "Europe/Berlin", ["vip", "wholesale"],
        )  # fmt: skip
        assert anna.sms_marketing_consent_source == "CSV import"
        bob = Customer.objects.get(external_id="c-3")
        assert (bob.phone, bob.phone_as_received) == ("", "555-555-SHIP")

    def test_importing_again_updates_instead_of_duplicating(self, client, owner, shop):
        client.force_login(owner)
        confirm(client, "customer", upload(client, "customer", shop, CUSTOMERS))
        changed = CUSTOMERS.replace("Anna,Schmidt", "Anna,Müller")
        preview = upload(client, "customer", shop, changed)
        assert preview.context["preview"] == {"new": 0, "updated": 3}
        confirm(client, "customer", preview)
        assert Customer.objects.count() == 3
        assert Customer.objects.get(external_id="c-1").last_name == "Müller"

    def test_every_bad_row_is_listed_with_its_line_and_nothing_is_imported(self, client, owner, shop):
        bad = (
            "external_id,email,phone,country,language,sms_marketing_consent_at\n"
            "c-1,anna@example.com,0151 23456789,DE,de,\n"
            "c-2,not-an-email,,DE,,\n"
            "c-3,,12,DE,,\n"
            ",x@example.com,,XX,fr,last week\n"
            "c-1,dup@example.com,,,,\n"
        )
        client.force_login(owner)
        response = upload(client, "customer", shop, bad)
        problems = sorted((p.line, p.column) for p in response.context["parsed"].problems)
        assert problems == [
            (3, "email"), (4, "phone"), (5, "country"), (5, "external_id"), (5, "language"),
            (5, "sms_marketing_consent_at"), (6, "external_id"),
        ]  # fmt: skip
        page = response.content.decode()
        assert "Nothing was imported" in page
        assert "is also on line 2" in page
        assert 'name="confirm"' not in page
        assert not Customer.objects.exists()

    def test_a_forged_confirm_with_bad_content_imports_nothing(self, client, owner, shop):
        import base64

        client.force_login(owner)
        content = base64.b64encode(b"external_id,country\nc-1,XX\n").decode()
        response = client.post(
            reverse("admin:merchant_customer_import"), {"shop": shop.pk, "content": content, "confirm": "1"}
        )
        assert response.status_code == 200
        assert not Customer.objects.exists()

    def test_a_file_that_is_not_utf8_is_refused(self, client, owner, shop):
        client.force_login(owner)
        data = {"shop": shop.pk, "file": SimpleUploadedFile("data.csv", "external_id\nc-ü\n".encode("latin-1"))}
        response = client.post(reverse("admin:merchant_customer_import"), data)
        assert "not UTF-8" in str(response.context["form"].errors["file"])

    def test_semicolon_separated_exports_work(self):
        parsed = customers_from_csv("external_id;email;country\nc-1;a@example.com;de\n", default_country="US")
        assert parsed.ok
        assert parsed.items[0].country == "DE"

    def test_unknown_and_missing_columns_are_named(self):
        parsed = customers_from_csv("mail,name\nx,y\n", default_country="US")
        messages = " ".join(str(problem) for problem in parsed.problems)
        assert "Unknown columns: mail, name" in messages
        assert "Missing required columns: external_id" in messages


class TestOrders:
    def test_orders_with_lines_customers_and_milestones(self, client, owner, shop):
        client.force_login(owner)
        preview = upload(client, "order", shop, ORDERS)
        assert preview.context["parsed"].ok, preview.context["parsed"].problems
        assert "2 orders in 3 rows" in preview.content.decode()
        confirm(client, "order", preview)
        first = Order.objects.get(external_id="o-1")
        assert (first.number, first.status, first.total, first.lines.count()) == (
            "#5001",
            "delivered",
            Decimal("104.90"),
            2,
        )
        assert first.customer.external_id == "c-1"
        assert first.shipments.get().tracking_number == "0034"
        assert [event.actor_kind for event in first.events.all()] == ["user"] * first.events.count()
        second = Order.objects.get(external_id="o-2")
        assert (second.status, second.customer.email) == ("pending_payment", "walk-in@example.com")

    def test_a_bad_line_refuses_the_whole_file(self, client, owner, shop):
        bad = ORDERS.replace("Socks,2,5.50", "Socks,two,5.50")
        client.force_login(owner)
        response = upload(client, "order", shop, bad)
        problems = [str(problem) for problem in response.context["parsed"].problems]
        assert problems[0].startswith("Line 3, line_quantity: “two” must be a whole number")
        assert not Order.objects.exists()

    def test_rows_of_one_order_must_agree(self):
        text = ORDERS.replace(
            "o-1,#5001,EUR,2026-11-01T10:00:00Z,c-1,anna@example.com,+49 151 23456789,DE,l-2",
            "o-1,#5009,EUR,2026-11-01T10:00:00Z,c-1,anna@example.com,+49 151 23456789,DE,l-2",
        )
        parsed = orders_from_csv(text, default_country="DE")
        assert [(p.line, p.column) for p in parsed.problems] == [(3, "number")]


class TestPermissions:
    def test_agents_cannot_import(self, client, agent, shop):
        client.force_login(agent)
        assert client.get(reverse("admin:merchant_customer_import")).status_code == 403
        assert "Import CSV" not in client.get(reverse("admin:merchant_customer_changelist")).content.decode()

    def test_owners_import_only_into_their_shops(self, client, owner, other_shop):
        client.force_login(owner)
        response = upload(client, "customer", other_shop, CUSTOMERS)
        assert "shop" in response.context["form"].errors
        assert not Customer.objects.exists()

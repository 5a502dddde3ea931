"""The management commands as an operator runs them."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from django_q.models import Schedule

from merchant.models import Customer, Membership, Merchant, Order, OrderEvent
from merchant.tests.processes import run_python

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def key_values(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


class TestCreateMerchant:
    def test_creates_a_shop_and_prints_key_value_lines(self):
        output = run(
            "createmerchant", "acme", "--name", "Acme Shoes", "--country", "de", "--timezone", "Europe/Berlin",
            "--language", "de", "--currency", "eur",
        )  # fmt: skip
        values = key_values(output)
        assert values["SHOP"] == "acme"
        shop = Merchant.objects.get(slug="acme")
        assert values["SHOP_ID"] == str(shop.pk)
        assert values["API_KEY"].startswith("sk_")
        assert shop.api_keys.get().prefix == values["API_KEY"][:10]
        assert values["WEBHOOK_SECRET"] == shop.webhook_secret
        assert len(shop.webhook_secret) >= 32
        assert (shop.name, shop.country.code, shop.time_zone, shop.default_language, shop.currency) == (
            "Acme Shoes", "DE", "Europe/Berlin", "de", "EUR",
        )  # fmt: skip
        assert "OWNER_EMAIL" not in values

    def test_owner_gets_a_generated_password_that_works(self, client):
        values = key_values(
            run("createmerchant", "acme", "--name", "Acme", "--country", "US", "--timezone", "America/Chicago",
                "--owner", "Boss@Acme.Example")
        )  # fmt: skip
        assert values["OWNER_EMAIL"] == "Boss@acme.example"
        user = get_user_model().objects.get(email="Boss@acme.example")
        assert Membership.objects.get(user=user).role == "owner"
        assert client.login(username="Boss@acme.example", password=values["OWNER_PASSWORD"])
        assert client.get("/admin/merchant/merchant/").status_code == 200

    def test_owner_password_from_the_environment_is_used_and_not_printed(self, monkeypatch, client):
        monkeypatch.setenv("OWNER_PASSWORD", "a long passphrase from the operator")
        output = run(
            "createmerchant", "acme", "--name", "Acme", "--country", "US", "--timezone", "America/Chicago",
            "--owner", "boss@acme.example",
        )  # fmt: skip
        assert "OWNER_PASSWORD" not in output
        assert client.login(username="boss@acme.example", password="a long passphrase from the operator")

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["--timezone", "Mars/Olympus", "--country", "US"], "--timezone: “Mars/Olympus” is not a known time zone"),
            (["--timezone", "Europe/Berlin", "--country", "XX"], "--country: “XX” is not an ISO 3166 country code"),
            (
                ["--timezone", "Europe/Berlin", "--country", "DE", "--currency", "euro"],
                "--currency: Use a three-letter",
            ),
            (
                ["--timezone", "Europe/Berlin", "--country", "DE", "--owner", "not-an-email"],
                "--owner: Enter a valid email",
            ),
        ],
    )
    def test_bad_input_exits_1_with_a_clear_message_and_creates_nothing(self, arguments, message):
        # CommandError is what manage.py turns into "CommandError: <message>" on stderr and exit code 1
        with pytest.raises(CommandError) as raised:
            run("createmerchant", "acme", "--name", "Acme", *arguments)
        assert raised.value.returncode == 1
        assert message in str(raised.value)
        assert not Merchant.objects.exists()
        assert not get_user_model().objects.exists()

    def test_an_existing_slug_exits_1(self, shop):
        with pytest.raises(CommandError) as raised:
            run("createmerchant", "alpha", "--name", "X", "--country", "US", "--timezone", "UTC")
        assert raised.value.returncode == 1
        assert "A shop with slug “alpha” already exists" in str(raised.value)
        assert Merchant.objects.get(slug="alpha").name == "Alpha Shoes"


def test_the_real_command_line_exits_1_on_a_duplicate_slug(tmp_path):
    """The whole program as an operator runs it: a fresh process, a fresh SQLite file."""
    env = {"DEBUG": "true", "DATABASE_URL": ""}
    assert run_python("", env, tmp_path, "manage.py", "migrate", "--noinput", "-v0").returncode == 0
    arguments = ("manage.py", "createmerchant", "acme", "--name", "Acme", "--country", "KR", "--timezone", "Asia/Seoul")
    first = run_python("", env, tmp_path, *arguments)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "SHOP=acme"
    second = run_python("", env, tmp_path, *arguments)
    assert second.returncode == 1
    assert second.stderr.strip() == "CommandError: A shop with slug “acme” already exists; pick another slug."


class TestSeedDemo:
    def test_builds_the_demo_shop_once(self):
        first = key_values(run("seed_demo"))
        assert (first["CUSTOMERS_CREATED"], first["ORDERS_CREATED"]) == ("200", "1000")
        counts = (Customer.objects.count(), Order.objects.count(), OrderEvent.objects.count())

        second = key_values(run("seed_demo"))
        assert (second["CUSTOMERS_CREATED"], second["ORDERS_CREATED"]) == ("0", "0")
        assert (Customer.objects.count(), Order.objects.count(), OrderEvent.objects.count()) == counts

        shop = Merchant.objects.get(slug="demo")
        customers = Customer.objects.filter(shop=shop)
        assert set(customers.values_list("country", flat=True)) == {"US", "DE", "RU", "KR", "CN"}
        assert set(customers.values_list("language", flat=True)) == {"en", "de", "ru", "ko", "zh-hans"}
        with_phone = customers.exclude(phone="")
        assert with_phone.count() > 150
        assert all(customer.phone.is_valid() for customer in with_phone)
        assert all(customer.time_zone for customer in customers)
        statuses = dict(Order.objects.values_list("status").annotate(n=Count("id")))
        assert set(statuses) == set(Order.Status.values)
        assert not OrderEvent.objects.exclude(outcome="applied").exists()


class TestSyncSchedules:
    def test_declared_schedules_are_created_once_and_strays_removed(self):
        Schedule.objects.create(
            name="hand-made", func="math.floor", args="1", schedule_type=Schedule.MINUTES, minutes=1
        )
        first = run("sync_schedules")
        assert "CREATED=merchant.task_results_prune" in first
        assert "DELETED=hand-made" in first
        second = run("sync_schedules")
        assert "UNCHANGED=merchant.task_results_prune" in second
        assert sorted(Schedule.objects.values_list("name", "func")) == [
            ("journeys.campaigns_tick", "journeys.campaigns.tasks.campaigns_tick_task"),
            ("journeys.dispatch", "journeys.tasks.dispatch_due_task"),
            ("journeys.greetings_schedule_due", "journeys.campaigns.tasks.greetings_schedule_due_task"),
            ("journeys.messages_reap", "journeys.tasks.messages_reap_task"),
            ("journeys.time_triggers_scan", "journeys.tasks.time_triggers_scan_task"),
            ("merchant.idempotency_records_prune", "merchant.tasks.idempotency_records_prune_task"),
            ("merchant.inbound_events_drain", "merchant.tasks.inbound_events_drain_task"),
            ("merchant.inbound_events_waiting_sweep", "merchant.tasks.inbound_events_waiting_sweep_task"),
            ("merchant.task_results_prune", "merchant.tasks.task_results_prune_task"),
            ("returns.disputes_expire_overdue", "returns.tasks.disputes.disputes_expire_overdue_task"),
            ("returns.disputes_warn_due", "returns.tasks.disputes.disputes_warn_due_task"),
            ("returns.return_requests_expire_due", "returns.tasks.requests.return_requests_expire_due_task"),
            ("reviews.review_reminders_plan", "reviews.tasks.review_reminders_plan_task"),
        ]

    def test_an_edited_schedule_is_put_back(self):
        run("sync_schedules")
        Schedule.objects.filter(name="merchant.task_results_prune").update(func="math.floor")
        assert "UPDATED=merchant.task_results_prune" in run("sync_schedules")
        assert Schedule.objects.get(name="merchant.task_results_prune").func == "merchant.tasks.task_results_prune_task"

    def test_the_scheduled_task_runs_through_django_q(self):
        import datetime as dt

        from django.utils import timezone
        from django_q.models import Success
        from django_q.tasks import async_task, result

        old = Success.objects.create(
            id="0" * 32, name="old", func="math.floor", started=timezone.now() - dt.timedelta(days=9),
            stopped=timezone.now() - dt.timedelta(days=9), success=True,
        )  # fmt: skip
        task_id = async_task("merchant.tasks.task_results_prune_task", sync=True)
        assert result(task_id) == 1
        assert not Success.objects.filter(pk=old.pk).exists()


class TestDevLogin:
    def test_refuses_without_debug(self, settings):
        settings.DEBUG = False
        with pytest.raises(CommandError, match="DEBUG"):
            run("devlogin")

    def test_prints_working_logins_with_the_same_password_every_time(self, settings, tmp_path, client):
        settings.DEBUG = True
        settings.VAR_DIR = tmp_path
        run("seed_demo", customers=5, orders=5)
        first = key_values(run("devlogin"))
        second = key_values(run("devlogin"))
        assert first["PASSWORD"] == second["PASSWORD"]
        # each run prints a new working API key and revokes the previous one
        from merchant.services.api_keys import api_key_authenticate

        assert api_key_authenticate(raw_key=first["API_KEY"]) is None
        assert api_key_authenticate(raw_key=second["API_KEY"]).shop.slug == "demo"
        assert second["WEBHOOK_SECRET"] == Merchant.objects.get(slug="demo").webhook_secret
        assert client.login(username="owner@demo.example", password=first["PASSWORD"])
        assert Membership.objects.get(user__username="agent@demo.example").role == "agent"

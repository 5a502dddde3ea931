"""Dispatchers as operators run them: `manage.py dispatch` processes against PostgreSQL.

Two at once never send the same message; one killed with SIGKILL in the middle of a batch loses
nothing once its lease runs out.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from journeys.models import CareRule, Message
from journeys.services.dispatch import Dispatcher, messages_reap
from journeys.testing.fake_twilio import FakeTwilio
from journeys.tests.conftest import TWILIO_SID, TWILIO_TOKEN
from merchant.actors import Actor
from merchant.models import Customer
from merchant.services import orders
from merchant.tests.processes import ROOT, TEST_ONLY_VARIABLES

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="several dispatchers cooperate on PostgreSQL; SQLite runs one"
    ),
    pytest.mark.django_db(transaction=True),
]


def due_messages(shop, count: int) -> list[int]:
    """`count` due "shipped" SMS of one shipped order (distinct steps, as parcels would have).

    The rule sends at any hour: these tests run on the real clock, whatever the time of day.
    """
    CareRule.objects.filter(shop=shop, trigger="shipped").update(send_any_hour=True)
    system = Actor.system("test")
    # Any hour: the subprocesses run on the real clock, and 09:00–20:00 UTC would fail this test at night.
    CareRule.objects.filter(shop=shop, trigger="shipped").update(send_any_hour=True)
    customer = Customer.objects.create(shop=shop, first_name="Ana", phone="+4915112345678", time_zone="UTC")
    order = orders.order_create(shop=shop, number="#1", currency="EUR", actor=system, customer=customer)
    orders.order_mark_paid(order=order, actor=system)
    orders.order_mark_shipped(order=order, actor=system, tracking_url="https://t.example/1")
    template = Message.objects.get(order=order, trigger="shipped")
    now = timezone.now()
    Message.objects.bulk_create(
        Message(
            **{
                field.attname: getattr(template, field.attname)
                for field in Message._meta.concrete_fields
                if field.name not in {"id", "idem_key", "step"}
            },
            idem_key=f"{template.idem_key}:{n}",
            step=f"copy-{n}",
        )
        for n in range(count - 1)
    )
    shipped = Message.objects.filter(order=order, trigger="shipped")
    shipped.update(send_at=now - dt.timedelta(seconds=1), time_zone="UTC")
    return list(shipped.values_list("pk", flat=True))


def dispatch_process(server: FakeTwilio, *extra: str, **variables: str) -> subprocess.Popen:
    database = connection.settings_dict
    environment = {key: value for key, value in os.environ.items() if key not in TEST_ONLY_VARIABLES}
    environment.update(
        ENV_FILE="",
        DEBUG="true",
        DJANGO_SETTINGS_MODULE="merchant.settings",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        JOURNEYS_SMS_PROVIDER="twilio",
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_BASE_URL=server.base_url,
        TWILIO_STATUS_CALLBACK_URL="https://care.example/webhooks/twilio/status",
        **variables,
    )
    return subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "dispatch", "--channel", "sms", *extra],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sends_per_message(server: FakeTwilio) -> Counter:
    return Counter(int(sms["status_callback"].rsplit("message_id=", 1)[1]) for sms in server.messages)


def test_two_dispatchers_running_together_never_send_the_same_message(care_shop):
    ids = due_messages(care_shop, 300)
    with FakeTwilio(auth=(TWILIO_SID, TWILIO_TOKEN), latency=0.01) as server:
        dispatchers = [dispatch_process(server, "--once", "--batch-size", "10") for _ in range(2)]
        outputs = [process.communicate(timeout=120) for process in dispatchers]
    assert [process.returncode for process in dispatchers] == [0, 0], outputs
    sends = sends_per_message(server)
    assert sorted(sends) == sorted(ids), "every message was sent"
    assert max(sends.values()) == 1, "and none twice"
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}
    claimed = [int(output.split("claimed ", 1)[1].split(":")[0]) for output, _err in outputs]
    assert sum(claimed) == 300
    assert min(claimed) > 0, f"both took part: {claimed}"


def test_three_dispatchers_together_never_put_more_than_the_accounts_rate_into_any_second(care_shop):
    ids = due_messages(care_shop, 90)
    with FakeTwilio(auth=(TWILIO_SID, TWILIO_TOKEN), latency=0.02) as server:
        dispatchers = [
            dispatch_process(server, "--once", "--batch-size", "10", TWILIO_RATE_PER_SECOND="20") for _ in range(3)
        ]
        outputs = [process.communicate(timeout=120) for process in dispatchers]
    assert [process.returncode for process in dispatchers] == [0, 0, 0], outputs
    sends = sends_per_message(server)
    assert sorted(sends) == sorted(ids), "every message was sent"
    assert max(sends.values()) == 1, "and none twice"
    assert server.most_in_any_window(seconds=1.0) <= 20
    sent = [
        int(output.split("sent ", 1)[1].split(" ")[0].rstrip(",.")) for output, _err in outputs if "sent " in output
    ]
    assert len(sent) == 3, f"all three took part: {outputs}"


def test_a_dispatcher_killed_mid_batch_loses_nothing_once_its_lease_runs_out(care_shop, settings):
    ids = due_messages(care_shop, 200)
    with FakeTwilio(auth=(TWILIO_SID, TWILIO_TOKEN), latency=0.05) as server:
        settings.JOURNEYS_SMS_PROVIDER, settings.TWILIO_BASE_URL = "twilio", server.base_url
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = TWILIO_SID, TWILIO_TOKEN
        settings.TWILIO_FROM_NUMBER = "+15005550006"
        settings.TWILIO_STATUS_CALLBACK_URL = "https://care.example/webhooks/twilio/status"
        process = dispatch_process(server, "--once", "--batch-size", "50")
        deadline = time.monotonic() + 60
        while server.count < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        in_flight = Message.objects.filter(pk__in=ids, status="sending").count()
        assert in_flight > 0, "killed while holding a leased batch"
        # The lease (60 s, by the database clock) runs out; the reaper puts the rows back.
        with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
            assert messages_reap() == in_flight
            with Dispatcher(channels=["sms"]) as dispatcher:
                dispatcher.drain()
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}
    sends = sends_per_message(server)
    assert sorted(sends) == sorted(ids), "nothing was lost"
    resent = [message_id for message_id, count in sends.items() if count > 1]
    # Only rows whose send may have happened before the kill can go out twice (transactional
    # messages are resent rather than lost).
    assert len(resent) <= in_flight

#!/usr/bin/env python
"""Benchmark: the outbox (journeys.Message) — drain rate, planning overhead per order event, idle tick.

For each database (SQLite in a fresh temporary VAR_DIR; PostgreSQL in a fresh database
`bench_outbox_<pid>` on postgres@127.0.0.1:5432, skipped with a message when it does not answer):

1. migrate; through the services create a shop (its default rules), a customer with an E.164 phone
   and an email, an order taken to `shipped`, and the `shipped` rule turned on; copy that customer
   and order BENCH_RECIPIENTS times (default 10,000), so the seeded rows cycle through as many
   different customers, orders and parcels and a batch is as varied as a real one;
2. planning: the same order lifecycle (created, paid, shipped, out for delivery, delivered,
   refunded) timed per event with the journeys planner unregistered, registered with no active
   rule, and registered with every default rule active, interleaved order by order;
3. drain: N due "shipped" SMS rows seeded with one set-based INSERT; a fake Twilio
   (`python -m journeys.testing.fake_twilio`, its own process, `--latency`) and 1 (SQLite) or 1
   and 2 (PostgreSQL) dispatcher processes (`Dispatcher(channels=["sms"]).drain()`, the loop of
   `manage.py dispatch --once`, with timers around its phases) send them until none is due or
   the drain time limit (BENCH_DRAIN_SECONDS, default 45 s) is up; messages/s = messages sent ÷
   wall time from starting the processes to the last one exiting; every sent row is checked
   `sent` once with a distinct provider id, the rest untouched, against the fake's own count;
4. raw: the rows seeded again and the same number drained (oldest first, as the dispatchers
   did) by the dispatcher's own claim SQL plus a plain ack UPDATE, each in its own transaction,
   on a DB-API connection per worker (as many workers as dispatchers), same batch size;
5. idle: M future rows seeded; EXPLAIN (ANALYZE on PostgreSQL, QUERY PLAN on SQLite) of the
   claim query and the time of a dispatcher tick that finds nothing;
6. print tables, write bench/results/outbox.{json,md}, drop the database.

Knobs (flags or environment): BENCH_DB, BENCH_MESSAGES, BENCH_BATCH, BENCH_PROVIDER_LATENCY,
BENCH_SEND_CONCURRENCY, BENCH_PG_DISPATCHERS, BENCH_DRAIN_SECONDS (0: drain everything),
BENCH_IDLE_MESSAGES, BENCH_PLANNING_ORDERS, BENCH_OUTBOX_PARTS, BENCH_PROFILE, BENCH_RECIPIENTS.

Exit status is non-zero only when the benchmark itself crashes; a missed budget is printed.

    .venv/bin/python bench/outbox.py --db both --messages 100000 --batch 200
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from benchkit import (
    LOOPBACK,
    ROOT,
    BenchError,
    app_code_fingerprint,
    base_env,
    bench_each_database,
    busy_pct,
    call_script,
    code_location,
    django_setup,
    fmt,
    free_port,
    machine_busy,
    md_table,
    percentile,
    postgres_cpu_s,
    proc_cpu_s,
    python_bin,
    run,
    run_meta,
    scratch_database,
    write_results,
)

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "bench-auth-token"  # noqa: S105 - the fake server's credential
TWILIO_FROM = "+15005550006"
CUSTOMER_PHONE = "+4915112345678"

BUDGET_RATE = 1000.0  # messages/s end to end
BUDGET_OVERHEAD = 1.5  # our claim+record seconds per message / raw claim+ack seconds per message
BUDGET_PLANNING_P50_MS = 2.0  # added p50 per order event
BUDGET_RATE_SHARE = 0.95  # achieved ÷ allowed rate, and never above the allowed rate in any one second
PARTS = ("planning", "drain", "rate", "idle")
EVENTS = ("created", "paid", "shipped", "out_for_delivery", "delivered", "refunded")
PLANNING_MODES = ("off", "no_rules", "on")
APP_CODE_FILES = [
    "journeys/services/dispatch.py",
    "journeys/services/planning.py",
    "journeys/services/content.py",
    "journeys/providers/twilio.py",
    "journeys/services/pacing.py",
    "journeys/services/links.py",
    "journeys/token_urls.py",
    "journeys/models.py",
    "merchant/services/orders.py",
]


# --- Django side (subprocesses with the bench database's environment) ------------------------------


def django_main(action: str, args: dict) -> dict:
    django_setup()
    return {"setup": setup, "planning": planning, "raw": raw_claim_ack, "idle": idle}[action](args)


def setup(args: dict) -> dict:
    """The shop, customer, shipped order and active `shipped` rule the seeded rows point at."""
    from journeys.models import CareRule, Message
    from merchant.actors import Actor
    from merchant.services import orders
    from merchant.services.customers import customer_create
    from merchant.services.orders import LineInput
    from merchant.services.shops import merchant_create

    system = Actor.system("bench")
    shop = merchant_create(
        name="Bench Shop",
        slug="bench-outbox",
        country="DE",
        time_zone="Europe/Berlin",
        contact_email="shop@example.com",
    )
    # Any hour: the bench must not depend on the time of day it runs (the window check is still made).
    rule = CareRule.objects.get(shop=shop, trigger="shipped")
    CareRule.objects.filter(pk=rule.pk).update(is_active=True, send_any_hour=True)
    customer = customer_create(
        shop=shop, first_name="Ana", last_name="Bench", email="ana@example.com", phone=CUSTOMER_PHONE, time_zone="UTC"
    )
    order = orders.order_create(
        shop=shop,
        number="#B1",
        currency="EUR",
        actor=system,
        customer=customer,
        lines=[LineInput(title="Tea", quantity=2, unit_price=5), LineInput(title="Cup", quantity=1, unit_price=9)],
    )
    orders.order_mark_paid(order=order, actor=system)
    orders.order_mark_shipped(
        order=order, actor=system, carrier="DHL", tracking_number="JJD0001", tracking_url="https://t.example/JJD0001"
    )
    planned = Message.objects.filter(order=order, trigger="shipped").first()
    explanation = planned.explanation if planned else "Rule “Shipped, with tracking”: shipped. Send at once."
    Message.objects.all().delete()
    recipients = recipients_clone(order, int(args.get("recipients", 1)))
    return {
        "shop": shop.pk,
        "customer": customer.pk,
        "order": order.pk,
        "rule": rule.pk,
        "recipients": recipients,
        "explanation": explanation,
        "templates": list(rule.templates.values_list("channel", "language")),
    }


def recipients_clone(order, count: int) -> int:
    """`count` customers, each with their own shipped order (two lines, one parcel), copied from `order`.

    The seeded messages cycle through them (table `bench_recipient`), so a claimed batch holds as
    many different customers and orders as a real one, not one row repeated. Returns the count.
    """
    from django.db import connection

    from merchant.models import Customer, Order, OrderLine, Shipment

    def copy_of(instance, **changes):
        values = {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}
        return type(instance)(**{**values, "id": None, "external_id": None, **changes})

    order = Order.objects.select_related("customer").get(pk=order.pk)  # as stored, after the services ran
    customer, lines, shipment = order.customer, list(order.lines.all()), order.shipments.get()
    customers = [customer] + Customer.objects.bulk_create(
        [copy_of(customer, first_name=f"Ana{n}", email=f"ana{n}@example.com") for n in range(1, count)], 2000
    )
    orders = [order] + Order.objects.bulk_create(
        [copy_of(order, customer_id=c.pk, number=f"#B{n + 1}") for n, c in enumerate(customers[1:], 1)], 2000
    )
    OrderLine.objects.bulk_create([copy_of(line, order_id=o.pk) for o in orders[1:] for line in lines], 2000)
    shipments = [shipment] + Shipment.objects.bulk_create([copy_of(shipment, order_id=o.pk) for o in orders[1:]], 2000)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_recipient (n integer PRIMARY KEY, customer_id bigint, order_id bigint, "
            "shipment_id bigint)"
        )
        cursor.executemany(
            "INSERT INTO bench_recipient VALUES (%s, %s, %s, %s)",
            [(n, c.pk, o.pk, s.pk) for n, (c, o, s) in enumerate(zip(customers, orders, shipments, strict=True))],
        )
    return count


def planning(args: dict) -> dict:
    """Order transitions timed with the planner off, on with no active rule, on with every default rule active."""
    from django.db import connection

    import journeys.services.planning as planner
    from journeys.models import CareRule, Message
    from journeys.services.planning import order_event_plan
    from merchant import order_listeners
    from merchant.actors import Actor
    from merchant.models import Shipment
    from merchant.services import orders
    from merchant.services.customers import customer_create
    from merchant.services.orders import LineInput
    from merchant.services.shops import merchant_create

    system = Actor.system("bench")
    shop_on = merchant_create(name="Planning On", slug="plan-on", country="DE", time_zone="Europe/Berlin")
    CareRule.objects.filter(shop=shop_on).update(is_active=True)
    shop_idle = merchant_create(name="Planning Idle", slug="plan-idle", country="DE", time_zone="Europe/Berlin")
    shops = {"off": shop_on, "no_rules": shop_idle, "on": shop_on}
    samples: dict[str, dict[str, list[float]]] = {mode: {event: [] for event in EVENTS} for mode in PLANNING_MODES}
    queries: dict[str, dict[str, int]] = {mode: {} for mode in PLANNING_MODES}
    counter = [0]
    # Where the planner's time goes (mode "on"): its steps, timed by wrapping the module's functions.
    pieces = (
        "order_messages_cancel_unfitting",
        "order_messages_cancel_unfitting_and_rules_load",
        "rule_matches",
        "message_build",
        "messages_insert",
    )
    piece_ms: dict[str, dict[str, list[float]]] = {event: {} for event in EVENTS}
    current: dict = {"event": None, "spent": Counter()}

    def wrap(name, function):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                current["spent"][name] += time.perf_counter() - started

        return wrapper

    for name in pieces:
        setattr(planner, name, wrap(name, getattr(planner, name)))
    timed_plan = wrap("order_event_plan", order_event_plan)

    def lifecycle(mode: str, keep: bool) -> None:
        counter[0] += 1
        n = counter[0]
        shop = shops[mode]
        customer = customer_create(
            shop=shop,
            first_name=f"Buyer{n}",
            email=f"buyer{n}@example.com",
            phone=f"+49151{n:08d}",
            country="DE",
        )
        steps = []

        def timed(event, call):
            executed[0] = 0
            current["spent"] = Counter()
            started = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - started
            steps.append((event, elapsed, executed[0], current["spent"]))
            return result

        order = timed(
            "created",
            lambda: orders.order_create(
                shop=shop,
                number=f"#P{n}",
                currency="EUR",
                actor=system,
                customer=customer,
                lines=[LineInput(title="Tea", quantity=2, unit_price=5)],
            ),
        )
        order = timed("paid", lambda: orders.order_mark_paid(order=order, actor=system))
        order = timed(
            "shipped",
            lambda: orders.order_mark_shipped(
                order=order,
                actor=system,
                carrier="DHL",
                tracking_number=f"JJD{n}",
                tracking_url=f"https://t.example/{n}",
            ),
        )
        shipment = order.shipments.get()
        timed(
            "out_for_delivery",
            lambda: orders.shipment_record_carrier_update(
                shipment=shipment, status=Shipment.Status.OUT_FOR_DELIVERY, actor=system
            ),
        )
        timed(
            "delivered",
            lambda: orders.shipment_record_carrier_update(
                shipment=shipment, status=Shipment.Status.DELIVERED, actor=system
            ),
        )
        order.refresh_from_db()
        timed("refunded", lambda: orders.order_refund_record(order=order, actor=system))
        if keep:
            for event, elapsed, count, spent in steps:
                samples[mode][event].append(elapsed * 1000)
                queries[mode][event] = count
                if mode == "on":
                    plan = spent.pop("order_event_plan", 0.0)
                    spent["rule query + rest"] = plan - sum(spent.values())
                    spent["planner total"] = plan
                    for name, seconds in spent.items():
                        piece_ms[event].setdefault(name, []).append(seconds * 1000)

    order_listeners.unregister(order_event_plan)

    def set_mode(mode: str) -> None:
        if mode == "off":
            order_listeners.unregister(timed_plan)
        else:
            order_listeners.register_in_transaction(timed_plan)

    executed = [0]

    def count_queries(execute, sql, params, many, context):
        executed[0] += 1
        return execute(sql, params, many, context)

    warmup, count = args["warmup"], args["orders"]
    started = time.perf_counter()
    with connection.execute_wrapper(count_queries):
        for i in range(warmup + count):
            for mode in PLANNING_MODES[i % 3 :] + PLANNING_MODES[: i % 3]:
                set_mode(mode)
                lifecycle(mode, keep=i >= warmup)
    order_listeners.unregister(timed_plan)
    order_listeners.register_in_transaction(order_event_plan)
    seconds = time.perf_counter() - started
    planned = Counter(Message.objects.filter(shop=shop_on).values_list("trigger", flat=True))
    by_status = Counter(Message.objects.filter(shop=shop_on).values_list("status", flat=True))
    return {
        "orders_per_mode": count,
        "warmup": warmup,
        "seconds": seconds,
        "ms": {
            mode: {
                event: {
                    "p50": percentile(values, 0.5),
                    "p95": percentile(values, 0.95),
                    "mean": statistics.fmean(values),
                }
                for event, values in by_event.items()
            }
            for mode, by_event in samples.items()
        },
        "queries": queries,
        "planner_steps_p50_ms": {
            event: {name: percentile(values, 0.5) for name, values in by_name.items()}
            for event, by_name in piece_ms.items()
        },
        "messages_planned_on": dict(planned),
        "messages_by_status_on": dict(by_status),
        "active_rules_on": list(
            CareRule.objects.filter(shop=shop_on, is_active=True).values_list("trigger", flat=True)
        ),
    }


def _raw_connect(settings_dict: dict, vendor: str):
    if vendor == "postgresql":
        import psycopg

        return psycopg.connect(
            host=settings_dict["HOST"] or None,
            port=settings_dict["PORT"] or None,
            user=settings_dict["USER"] or None,
            password=settings_dict["PASSWORD"] or None,
            dbname=settings_dict["NAME"],
        )
    conn = sqlite3.connect(settings_dict["NAME"], isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


RAW_ACK_POSTGRESQL = """
UPDATE journeys_message AS m
SET status = 'sent', sent_at = %s, provider_message_id = u.sid, lease_owner = '', lease_until = NULL, updated_at = %s
FROM unnest(%s::bigint[], %s::text[]) AS u(id, sid)
WHERE m.id = u.id
"""
RAW_ACK_SQLITE = """
UPDATE journeys_message
SET status = 'sent', sent_at = ?, provider_message_id = ?, lease_owner = '', lease_until = NULL, updated_at = ?
WHERE id = ?
"""


def raw_claim_ack(args: dict) -> dict:
    """The dispatcher's claim SQL and a plain ack UPDATE, one transaction each, on DB-API connections."""
    from django.db import connection

    from journeys.services.dispatch import _CLAIM_POSTGRESQL, _CLAIM_SQLITE, LEASE

    vendor, settings_dict = connection.vendor, dict(connection.settings_dict)
    batch, workers = args["batch"], args["workers"]
    results: list[dict | None] = [None] * workers
    errors: list[str] = []
    budget = {"left": args.get("max_rows") or float("inf")}
    lock = threading.Lock()

    def take() -> int:
        """How many rows the next claim may take: the same rows as the dispatchers drained, no more."""
        with lock:
            wanted = int(min(batch, budget["left"]))
            budget["left"] -= wanted
            return wanted

    def sqlite_time(value: dt.datetime) -> str:
        return value.replace(tzinfo=None).isoformat(sep=" ")

    def work(index: int) -> None:
        try:
            conn = _raw_connect(settings_dict, vendor)
            owner = f"raw-{index}"
            claim_s = ack_s = 0.0
            rows = batches = 0
            while True:
                limit = take()
                if limit <= 0:
                    break
                now = dt.datetime.now(dt.UTC)
                started = time.perf_counter()
                if vendor == "postgresql":
                    with conn.cursor() as cursor:
                        cursor.execute(_CLAIM_POSTGRESQL, ["sms", now, limit, owner, now + LEASE, now])
                        ids = [row[0] for row in cursor.fetchall()]
                    conn.commit()
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    claim_params = [owner, sqlite_time(now + LEASE), sqlite_time(now), "sms", sqlite_time(now), limit]
                    ids = [row[0] for row in conn.execute(_CLAIM_SQLITE.replace("%s", "?"), claim_params)]
                    conn.execute("COMMIT")
                claimed = time.perf_counter()
                claim_s += claimed - started
                if not ids:
                    break
                sids = ["SM" + uuid.uuid4().hex for _ in ids]
                if vendor == "postgresql":
                    with conn.cursor() as cursor:
                        cursor.execute(RAW_ACK_POSTGRESQL, [now, now, ids, sids])
                    conn.commit()
                else:
                    stamp = sqlite_time(now)
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(
                        RAW_ACK_SQLITE, [(stamp, sid, stamp, pk) for pk, sid in zip(ids, sids, strict=True)]
                    )
                    conn.execute("COMMIT")
                ack_s += time.perf_counter() - claimed
                rows += len(ids)
                batches += 1
            conn.close()
            results[index] = {"rows": rows, "batches": batches, "claim_s": claim_s, "ack_s": ack_s}
        except Exception as error:  # noqa: BLE001 - reported to the orchestrator
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit("raw claim+ack failed: " + "; ".join(errors))
    done = [r for r in results if r]
    rows = sum(r["rows"] for r in done)
    return {
        "workers": workers,
        "batch": batch,
        "rows": rows,
        "wall_s": wall,
        "rows_per_s": rows / wall if wall else 0.0,
        "claim_s": sum(r["claim_s"] for r in done),
        "ack_s": sum(r["ack_s"] for r in done),
        "per_worker": done,
    }


def idle(args: dict) -> dict:
    """With only future rows: the claim query's plan, and how long a tick that finds nothing takes."""
    from django.db import connection, transaction

    from journeys.services.dispatch import (
        _CLAIM_POSTGRESQL,
        _CLAIM_SQLITE,
        LEASE,
        Dispatcher,
        _db_time,
        clock_now,
        dispatch_due,
        messages_claim,
    )

    vendor = connection.vendor
    now = clock_now()
    owner = "explain"
    until, stamp, due = _db_time(now + LEASE), _db_time(now), _db_time(now)
    limit = args["batch"]
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + _CLAIM_POSTGRESQL, ["sms", due, limit, owner, until, stamp]
            )
            plan = [row[0] for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + _CLAIM_SQLITE, [owner, until, stamp, "sms", due, limit])
            plan = _sqlite_plan_lines(cursor.fetchall())
        transaction.set_rollback(True)
    sql = _CLAIM_POSTGRESQL if vendor == "postgresql" else _CLAIM_SQLITE

    def timings(call, count: int) -> dict:
        values = []
        for _ in range(count):
            started = time.perf_counter()
            call()
            values.append((time.perf_counter() - started) * 1000)
        return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "max": max(values), "n": count}

    claimed: list[int] = []
    ticks = args["ticks"]
    with Dispatcher(channels=["sms"], batch_size=limit) as dispatcher:
        for _ in range(20):
            claimed.append(dispatcher.batch("sms").claimed)
        batch_ms = timings(lambda: claimed.append(dispatcher.batch("sms").claimed), ticks)
        claim_ms = timings(
            lambda: claimed.append(len(messages_claim(channel="sms", limit=limit, owner="t", now=clock_now()))), ticks
        )
    due_ms = timings(lambda: dispatch_due(batch_size=limit), max(10, ticks // 5))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM journeys_message WHERE status = 'scheduled'")
        scheduled = cursor.fetchone()[0]
    return {
        "vendor": vendor,
        "scheduled_rows": scheduled,
        "plan": plan,
        "claim_sql": sql.strip(),
        "tick_batch_ms": batch_ms,
        "claim_only_ms": claim_ms,
        "dispatch_due_ms": due_ms,
        "claimed_during_ticks": sum(claimed),
        "uses_due_index": any("journeys_msg_due_idx" in line for line in plan),
    }


def _sqlite_plan_lines(rows) -> list[str]:
    depth = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


# --- Dispatcher driver (one process per dispatcher) ------------------------------------------------


def dispatch_main(args: dict) -> dict:
    """`manage.py dispatch --once`'s loop (Dispatcher.drain) with timers around its phases."""
    django_setup()
    import resource

    import journeys.services.dispatch as dispatch

    spent: Counter = Counter()

    def wrap(name: str, function):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - started
                spent[f"{name}_calls"] += 1

        return wrapper

    dispatch.messages_for_sending = wrap("load", dispatch.messages_for_sending)
    dispatch.message_decide = wrap("decide", dispatch.message_decide)
    dispatch.Dispatcher._decide = wrap("prepare", dispatch.Dispatcher._decide)
    dispatch.Dispatcher._pace = wrap("pace", dispatch.Dispatcher._pace)
    dispatch.Dispatcher._send_all = wrap("send", dispatch.Dispatcher._send_all)
    dispatch.clock_now = wrap("clock", dispatch.clock_now)
    dispatch.messages_reap = wrap("reap", dispatch.messages_reap)

    profiler = None
    if args.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    with dispatch.Dispatcher(channels=["sms"], batch_size=args["batch"]) as dispatcher:
        started_epoch = time.time()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = dispatcher.drain(max_seconds=args.get("max_seconds"))
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
        ended_epoch = time.time()
        concurrency = dispatcher.providers["sms"].concurrency
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "owner": dispatcher.owner,
        "claimed": report.claimed,
        "tally": dict(report.tally),
        "claim_s": report.claim_seconds,
        "record_s": report.record_seconds,
        "drain_s": wall,
        "started_epoch": started_epoch,
        "ended_epoch": ended_epoch,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "send_concurrency": concurrency,
        "spent": dict(spent),
    }
    if profiler:
        out["profile"] = _profile_summary(profiler)
    return out


def _profile_summary(profiler) -> dict:
    import pstats

    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumulative, _callers) in stats.stats.items():
        rows.append((cumulative, tottime, calls, f"{code_location(filename)}:{line}({name})"))
    top_cum = sorted(rows, reverse=True)[:40]
    top_self = sorted(rows, key=lambda row: -row[1])[:25]
    return {
        "cumulative": [f"{cum:8.2f}s cum {tt:7.2f}s self {calls:>9} {where}" for cum, tt, calls, where in top_cum],
        "self": [f"{tt:8.2f}s self {cum:7.2f}s cum {calls:>9} {where}" for cum, tt, calls, where in top_self],
    }


# --- Orchestration ---------------------------------------------------------------------------------


# `python bench/outbox.py _django <action> <args>`: the Django side, with the bench database's environment.
helper = functools.partial(call_script, __file__, "_django", timeout=900)


class RawDb:
    """The orchestrator's own DB-API connection for seeding and checking (not timed)."""

    COLUMNS = (
        "shop_id, customer_id, order_id, rule_id, trigger, step, idem_key, channel, fallback_channel, address, "
        "language, time_zone, message_class, status, reason, anchor_at, not_before, send_at, expires_at, attempts, "
        "max_attempts, lease_owner, lease_until, provider, provider_message_id, error_code, error, explanation, "
        "subject, body, html_body, segments, coupon_code, sent_at, delivered_at, opened_at, clicked_at, "
        "finished_at, created_at, updated_at"
    )

    def __init__(self, kind: str, target: str):
        self.kind = kind
        if kind == "postgres":
            import psycopg

            self.conn = psycopg.connect(target, autocommit=True)
        else:
            self.conn = sqlite3.connect(target, isolation_level=None, timeout=60)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA cache_size=-262144")  # 256 MB for the index builds of the seeding

    def close(self) -> None:
        self.conn.close()

    def one(self, sql: str, params=()):
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, params=()):
        return self.conn.execute(sql, params).fetchall()

    def clear(self) -> None:
        if self.kind == "postgres":
            self.conn.execute("TRUNCATE journeys_message CASCADE")
        else:
            self.conn.execute("DELETE FROM journeys_message")

    def _secondary_indexes(self) -> list[tuple[str, str]]:
        """(name, DDL) of the table's indexes that back no constraint (the unique idem_key one stays)."""
        if self.kind == "postgres":
            return self.all(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'journeys_message' AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = 'journeys_message'::regclass)"
            )
        return self.all(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journeys_message' "
            "AND sql IS NOT NULL"
        )

    def seed(self, ids: dict, count: int, *, due: bool, prefix: str) -> float:
        """`count` scheduled "shipped" SMS rows in one set-based INSERT; due now (send_at in the past, oldest
        first) or in the future. The secondary indexes are dropped for the load and built again after it
        (same definitions; a bulk load, not a test of index maintenance). Returns seconds, including the
        index builds and, on PostgreSQL, ANALYZE."""
        started = time.perf_counter()
        indexes = self._secondary_indexes()
        for name, _ddl in indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        try:
            self._insert(ids, count, due=due, prefix=prefix)
        finally:
            for _name, ddl in indexes:
                self.conn.execute(ddl)
        if self.kind == "postgres":
            # What autovacuum does after a bulk load. SQLite gets no ANALYZE: the app never runs one there.
            self.conn.execute("ANALYZE journeys_message")
        return time.perf_counter() - started

    def _insert(self, ids: dict, count: int, *, due: bool, prefix: str) -> None:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        first = now - dt.timedelta(days=1) if due else now + dt.timedelta(days=1)
        anchor = now - dt.timedelta(days=1, hours=1)
        expires = now + dt.timedelta(days=3650)
        explanation = ids["explanation"]
        if self.kind == "postgres":
            sql = f"""
INSERT INTO journeys_message ({self.COLUMNS})
SELECT %(shop)s, r.customer_id, r.order_id, %(rule)s, 'shipped', 'shipment-' || r.shipment_id::text,
    %(prefix)s::text || lpad(g::text, 9, '0'),
    'sms', 'email', '', 'en', 'UTC', 'transactional', 'scheduled', '', %(anchor)s::timestamptz,
    %(anchor)s::timestamptz, %(first)s::timestamptz + g * interval '1 millisecond', %(expires)s::timestamptz, 0, 5,
    '', NULL, '', '', '', '', %(explanation)s::text, '', '', '', NULL, '', NULL, NULL, NULL, NULL, NULL,
    %(now)s::timestamptz, %(now)s::timestamptz
FROM generate_series(1, %(count)s::int) AS g
JOIN bench_recipient AS r ON r.n = g %% %(recipients)s
"""  # noqa: S608 - constant column list
            params = {**ids, "prefix": prefix, "anchor": anchor, "first": first, "expires": expires, "now": now}
            params.update(count=count, explanation=explanation)
            with self.conn.transaction():
                # The rows point at the shop, customer, order and rule made by `setup`; skipping the
                # per-row foreign key triggers makes a million-row load take seconds instead of a minute.
                self.conn.execute("SET LOCAL session_replication_role = replica")
                self.conn.execute(sql, params)
        else:

            def text(value: dt.datetime) -> str:
                return value.replace(tzinfo=None).isoformat(sep=" ")

            sql = f"""
INSERT INTO journeys_message ({self.COLUMNS})
WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :count)
SELECT :shop, r.customer_id, r.order_id, :rule, 'shipped', 'shipment-' || r.shipment_id, :prefix || printf('%09d', g),
    'sms', 'email',
    '', 'en', 'UTC',
    'transactional', 'scheduled', '', :anchor, :anchor,
    strftime('%Y-%m-%d %H:%M:%f', :first, '+' || (g / 1000) || '.' || printf('%03d', g % 1000) || ' seconds'),
    :expires, 0, 5, '', NULL, '', '', '', '', :explanation, '', '', '', NULL, '', NULL, NULL, NULL, NULL, NULL,
    :now, :now
FROM seq JOIN bench_recipient AS r ON r.n = g % :recipients
"""  # noqa: S608 - constant column list
            params = {
                "shop": ids["shop"],
                "rule": ids["rule"],
                "recipients": ids["recipients"],
                "prefix": prefix,
                "anchor": text(anchor),
                "first": text(first),
                "expires": text(expires),
                "now": text(now),
                "count": count,
                "explanation": explanation,
            }
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(sql, params)
            self.conn.execute("COMMIT")

    def check_sent(self, expected: int, total: int) -> dict:
        """`expected` rows sent (each with its own provider id, in one attempt), the rest of `total` untouched."""
        by_status = dict(self.all("SELECT status, count(*) FROM journeys_message GROUP BY status"))
        distinct = self.one(
            "SELECT count(DISTINCT provider_message_id) FROM journeys_message "
            "WHERE status = 'sent' AND provider_message_id <> ''"
        )[0]
        retried = self.one("SELECT count(*) FROM journeys_message WHERE status <> 'scheduled' AND attempts <> 1")[0]
        problems = []
        if by_status.get("scheduled", 0) != total - expected or sum(by_status.values()) != total:
            problems.append(f"expected {total - expected} rows left scheduled of {total} (by status {by_status})")
        if by_status.get("sent", 0) != expected:
            problems.append(f"{by_status.get('sent', 0)} of {expected} rows sent (by status {by_status})")
        if distinct != expected:
            problems.append(f"{distinct} distinct provider ids for {expected} rows")
        if retried:
            problems.append(f"{retried} rows with attempts <> 1")
        return {
            "by_status": by_status,
            "distinct_provider_ids": distinct,
            "attempts_not_1": retried,
            "problems": problems,
        }


def start_fake(latency: float, env: dict, log: Path, arrivals: Path | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [python_bin(), "-m", "journeys.testing.fake_twilio", "--port", str(port), "--latency", str(latency),
           "--account-sid", TWILIO_SID, "--auth-token", TWILIO_TOKEN]  # fmt: skip
    if arrivals is not None:
        cmd += ["--arrivals", str(arrivals)]
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"fake Twilio exited ({proc.returncode}): {log.read_text()[-2000:]}")
        if "http://" in log.read_text():
            return proc, port
        time.sleep(0.05)
    raise BenchError("fake Twilio did not start within 20 s")


def stop_fake(proc: subprocess.Popen | None, log: Path) -> int | None:
    """SIGTERM; the fake prints `N messages received` as it stops. Returns N."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    for line in reversed(log.read_text().splitlines()):
        if line.endswith("messages received"):
            return int(line.split()[0])
    return None


def run_dispatchers(
    count: int,
    options,
    env: dict,
    tmp: Path,
    kind: str,
    *,
    profile: bool = False,
    rate: float = 0.0,
    latency: float | None = None,
) -> dict:
    """Fake Twilio + `count` dispatcher processes draining the table; wall from start to the last exit.

    `rate`: the account's limit (TWILIO_RATE_PER_SECOND); the fake then reports when each message arrived."""
    fake_log = tmp / "fake_twilio.log"
    arrivals_file = tmp / "arrivals.json" if rate else None
    fake, port = start_fake(options.latency if latency is None else latency, env, fake_log, arrivals_file)
    fake_cpu_before = proc_cpu_s(fake.pid) or 0.0
    dispatch_env = {
        **env,
        "JOURNEYS_SMS_PROVIDER": "twilio",
        "TWILIO_BASE_URL": f"http://{LOOPBACK}:{port}",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_CONCURRENCY": str(options.send_concurrency),
        "TWILIO_RATE_PER_SECOND": str(rate),
    }
    config = json.dumps({"batch": options.batch, "profile": profile, "max_seconds": options.drain_seconds or None})
    procs = []
    try:
        pg_before, busy_before = postgres_cpu_s(reaped_children=True) if kind == "postgres" else None, machine_busy()
        started = time.perf_counter()
        for _ in range(count):
            procs.append(
                subprocess.Popen(  # noqa: S603 - our own script
                    [python_bin(), __file__, "_dispatch", "-", config],
                    cwd=ROOT,
                    env=dispatch_env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
        outputs = [proc.communicate(timeout=options.time_limit) for proc in procs]
        wall = time.perf_counter() - started
        pg_after, busy_after = postgres_cpu_s(reaped_children=True) if kind == "postgres" else None, machine_busy()
        fake_cpu = (proc_cpu_s(fake.pid) or 0.0) - fake_cpu_before
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        received = stop_fake(fake, fake_log)
    reports = []
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise BenchError(f"dispatcher exited {proc.returncode}:\n{stderr[-3000:]}")
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    return {
        "dispatchers": count,
        "wall_s": wall,
        "arrivals": json.loads(arrivals_file.read_text()) if arrivals_file and arrivals_file.exists() else None,
        "reports": reports,
        "fake_received": received,
        "fake_cpu_s": fake_cpu,
        "postgres_cpu_s": (pg_after - pg_before) if pg_before is not None and pg_after is not None else None,
        "machine_busy_pct": busy_pct(busy_before, busy_after),
    }


def summarize_ours(run_result: dict) -> dict:
    reports = run_result["reports"]
    claimed = sum(r["claimed"] for r in reports)
    tally: Counter = Counter()
    spent: Counter = Counter()
    for r in reports:
        tally.update(r["tally"])
        spent.update(r["spent"])
    claim_s = sum(r["claim_s"] for r in reports)
    record_s = sum(r["record_s"] for r in reports)
    drain_s = sum(r["drain_s"] for r in reports)  # dispatcher-seconds
    decide_s, send_s = spent["decide"], spent["send"]
    load_s = spent["load"]
    # What else deciding a batch takes: each message's provider, the tracked links.
    rest_of_prepare_s = spent["prepare"] - load_s - decide_s
    accounted_s = claim_s + spent["prepare"] + spent["pace"] + send_s + record_s + spent["reap"]
    window = max(r["ended_epoch"] for r in reports) - min(r["started_epoch"] for r in reports)
    per_msg = 1000 / claimed if claimed else 0.0
    return {
        "claimed": claimed,
        "tally": dict(tally),
        "rate": claimed / run_result["wall_s"],
        "drain_window_rate": claimed / window if window else None,
        "claim_record_s": claim_s + record_s,
        "claim_record_ms_per_msg": (claim_s + record_s) * per_msg,
        "breakdown_ms_per_msg": {
            "claim (clock + claim SQL)": claim_s * per_msg,
            "load (ORM select + related rows)": load_s * per_msg,
            "decide + render": decide_s * per_msg,
            "providers, tracked links": rest_of_prepare_s * per_msg,
            "rate-limit slots": spent["pace"] * per_msg,
            "HTTP sends (wall of the batch)": send_s * per_msg,
            "record (messages_record)": record_s * per_msg,
            "reaper": spent["reap"] * per_msg,
            "other (clocks, waiting for slots)": (drain_s - accounted_s) * per_msg,
            "total (dispatcher wall)": drain_s * per_msg,
        },
        "batches": spent["prepare_calls"],
        "cpu_ms_per_msg": {
            "dispatchers": sum(r["cpu_s"] for r in reports) * per_msg,
            "fake twilio": run_result["fake_cpu_s"] * per_msg,
            "postgres": run_result["postgres_cpu_s"] * per_msg if run_result["postgres_cpu_s"] is not None else None,
        },
        "machine_busy_pct": run_result["machine_busy_pct"],
    }


def rate_entry(paced: dict, *, rate: float, rows: int, checked: dict) -> dict:
    """Achieved rate = messages after the first ÷ seconds from the first arrival at the fake to the last."""
    arrivals = paced["arrivals"] or []
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    achieved = (len(arrivals) - 1) / span if span > 0 else 0.0
    tally: Counter = Counter()
    for report in paced["reports"]:
        tally.update(report["tally"])
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from journeys.testing.fake_twilio import most_in_any_window

    most = most_in_any_window(arrivals)
    longest_pause = max((b - a for a, b in zip(arrivals, arrivals[1:], strict=False)), default=0.0)
    entry = {
        "dispatchers": paced["dispatchers"],
        "allowed": rate,
        "rows": rows,
        "received": len(arrivals),
        "span_s": span,
        "achieved": achieved,
        "share": achieved / rate,
        "most_in_a_second": most,
        # A stall of the dispatcher (such as a long pass of the garbage collector) shows up here.
        "longest_pause_s": longest_pause,
        "tally": dict(tally),
        "verify": checked,
    }
    entry["budget"] = {
        "share_ok": entry["share"] >= BUDGET_RATE_SHARE,
        "never_above_ok": most <= rate,
        "verified": not checked["problems"] and len(arrivals) == rows,
    }
    return entry


def bench_database(kind: str, options) -> dict:
    result: dict = {"database": kind, "phase_seconds": {}}
    db = None
    phase_started = time.monotonic()

    def phase_done(name: str) -> None:
        nonlocal phase_started
        result["phase_seconds"][name] = round(time.monotonic() - phase_started, 1)
        phase_started = time.monotonic()

    with scratch_database("outbox", kind) as (tmp, database_url):
        try:
            env = base_env(tmp / "var", database_url, JOURNEYS_CLOCK="database", JOURNEYS_EMBEDDED_DISPATCH="false")
            print(f"[{kind}] migrate …", flush=True)
            run([python_bin(), "manage.py", "migrate", "--noinput"], {**env, "DEBUG": "true"})
            ids = helper("setup", {"recipients": options.recipients}, env)
            db = RawDb(kind, database_url or str(tmp / "var" / "merchant.sqlite3"))
            phase_done("migrate + setup")

            if "planning" in options.parts:
                print(f"[{kind}] planning: {options.planning_orders} order lifecycles × {len(PLANNING_MODES)} modes …",
                      flush=True)  # fmt: skip
                result["planning"] = helper("planning", {"orders": options.planning_orders, "warmup": 10}, env)
                db.clear()
                phase_done("planning")

            if "drain" in options.parts:
                result["drain"] = []
                for count in [1] if kind == "sqlite" else options.pg_dispatchers:
                    db.clear()
                    seed_s = db.seed(ids, options.messages, due=True, prefix=f"bench:{count}:")
                    print(f"[{kind}] drain: {options.messages} due rows seeded in {seed_s:.1f}s; "
                          f"{count} dispatcher(s), batch {options.batch}, {options.send_concurrency} sends at once, "
                          f"fake latency {options.latency * 1000:.0f} ms …", flush=True)  # fmt: skip
                    ours_run = run_dispatchers(count, options, env, tmp, kind)
                    ours = summarize_ours(ours_run)
                    sent = ours["claimed"]
                    checked = db.check_sent(sent, options.messages)
                    if ours_run["fake_received"] != sent:
                        checked["problems"].append(
                            f"the fake received {ours_run['fake_received']} messages for {sent} sent"
                        )
                    db.clear()
                    db.seed(ids, options.messages, due=True, prefix=f"raw:{count}:")
                    print(f"[{kind}] raw claim+ack of the same {sent} rows, {count} worker(s) …", flush=True)
                    raw = helper("raw", {"batch": options.batch, "workers": count, "max_rows": sent}, env)
                    raw_checked = db.check_sent(sent, options.messages)
                    raw_per_msg = (raw["claim_s"] + raw["ack_s"]) * 1000 / raw["rows"] if raw["rows"] else None
                    entry = {
                        "dispatchers": count,
                        "batch": options.batch,
                        "messages": options.messages,
                        "recipients": options.recipients,
                        "sent": sent,
                        "stopped_by_time_limit": sent < options.messages,
                        "seed_s": seed_s,
                        "wall_s": ours_run["wall_s"],
                        "ours": ours,
                        "ours_raw_reports": ours_run["reports"],
                        "fake_received": ours_run["fake_received"],
                        "verify": checked,
                        "raw": raw,
                        "raw_verify": raw_checked,
                        "raw_claim_ack_ms_per_msg": raw_per_msg,
                        "ratio_rate": ours["rate"] / raw["rows_per_s"] if raw["rows_per_s"] else None,
                        "ratio_overhead": ours["claim_record_ms_per_msg"] / raw_per_msg if raw_per_msg else None,
                    }
                    entry["budget"] = {
                        "rate_ok": ours["rate"] >= BUDGET_RATE,
                        "overhead_ok": entry["ratio_overhead"] is not None
                        and entry["ratio_overhead"] <= BUDGET_OVERHEAD,
                        "verified": not checked["problems"] and not raw_checked["problems"],
                    }
                    result["drain"].append(entry)
                    print(f"[{kind}]   {ours['rate']:.0f} msg/s end to end; raw {raw['rows_per_s']:.0f} rows/s; "
                          f"claim+record {ours['claim_record_ms_per_msg']:.3f} ms/msg vs raw {raw_per_msg:.3f}",
                          flush=True)  # fmt: skip
                if options.profile:
                    db.clear()
                    db.seed(ids, options.profile_messages, due=True, prefix="profile:")
                    print(f"[{kind}] cProfile of one dispatcher over {options.profile_messages} messages …", flush=True)
                    profiled = run_dispatchers(1, options, env, tmp, kind, profile=True)
                    result["profile"] = {
                        "messages": options.profile_messages,
                        "summary": summarize_ours(profiled),
                        "profile": profiled["reports"][0].get("profile"),
                    }
                phase_done("drain")

            if "rate" in options.parts:
                result["rate"] = []
                for count in [1] if kind == "sqlite" else options.pg_dispatchers:
                    for rate in options.rates:
                        db.clear()
                        rows = max(50, int(rate * options.rate_seconds))
                        db.seed(ids, rows, due=True, prefix=f"rate:{count}:{rate}:")
                        print(f"[{kind}] rate limit {rate:g}/s: {rows} due rows, {count} dispatcher(s), fake latency "
                              f"{options.rate_latency * 1000:.0f} ms …", flush=True)  # fmt: skip
                        paced = run_dispatchers(count, options, env, tmp, kind, rate=rate, latency=options.rate_latency)
                        result["rate"].append(
                            rate_entry(paced, rate=rate, rows=rows, checked=db.check_sent(rows, rows))
                        )
                        entry = result["rate"][-1]
                        print(f"[{kind}]   achieved {entry['achieved']:.1f}/s = {entry['share']:.3f} of {rate:g}/s; "
                              f"most in any second {entry['most_in_a_second']}; longest pause "
                              f"{entry['longest_pause_s'] * 1000:.1f} ms", flush=True)  # fmt: skip
                phase_done("rate")

            if "idle" in options.parts:
                db.clear()
                seed_s = db.seed(ids, options.idle_messages, due=False, prefix="future:")
                print(f"[{kind}] idle: {options.idle_messages} future rows seeded in {seed_s:.1f}s; "
                      "EXPLAIN and ticks …", flush=True)  # fmt: skip
                result["idle"] = {"seed_s": seed_s, **helper("idle", {"batch": options.batch, "ticks": 200}, env)}
                phase_done("idle")
            return result
        finally:
            if db is not None:
                db.close()


# --- Reporting -------------------------------------------------------------------------------------


def drain_table(results: list[dict]) -> str:
    header = ["db", "dispatchers", "batch", "messages sent", "wall s", "msg/s", "raw claim+ack rows/s", "msg/s ÷ raw",
              "claim+record ms/msg", "raw claim+ack ms/msg", "overhead ratio", "verified",
              f"≥{BUDGET_RATE:.0f}/s", f"overhead ≤{BUDGET_OVERHEAD}×"]  # fmt: skip
    rows = []
    for r in results:
        if "skipped" in r or "crashed" in r:
            rows.append([r["database"], "skipped" if "skipped" in r else "crashed", *[""] * 11,
                         (r.get("skipped") or r.get("crashed"))[:60]])  # fmt: skip
            continue
        for d in r.get("drain", []):
            rows.append(
                [
                    r["database"],
                    d["dispatchers"],
                    d["batch"],
                    f"{d['sent']:,}" + (f" of {d['messages']:,}" if d["sent"] < d["messages"] else ""),
                    fmt(d["wall_s"]),
                    fmt(d["ours"]["rate"], 0),
                    fmt(d["raw"]["rows_per_s"], 0),
                    fmt(d["ratio_rate"], 2),
                    fmt(d["ours"]["claim_record_ms_per_msg"], 3),
                    fmt(d["raw_claim_ack_ms_per_msg"], 3),
                    fmt(d["ratio_overhead"], 2),
                    "yes" if d["budget"]["verified"] else "NO",
                    "MET" if d["budget"]["rate_ok"] else "MISSED",
                    "MET" if d["budget"]["overhead_ok"] else "MISSED",
                ]
            )
    return md_table(header, rows)


def breakdown_table(results: list[dict]) -> str:
    rows = []
    names: list[str] = []
    columns = []
    for r in results:
        for d in r.get("drain", []):
            columns.append(f"{r['database']} ×{d['dispatchers']}")
            names = names or list(d["ours"]["breakdown_ms_per_msg"])
    if not columns:
        return ""
    for name in names:
        row = [name]
        for r in results:
            for d in r.get("drain", []):
                row.append(fmt(d["ours"]["breakdown_ms_per_msg"][name], 3))
        rows.append(row)
    for label, key in (
        ("CPU dispatchers", "dispatchers"),
        ("CPU fake Twilio", "fake twilio"),
        ("CPU postgres", "postgres"),
    ):
        row = [label]
        for r in results:
            for d in r.get("drain", []):
                row.append(fmt(d["ours"]["cpu_ms_per_msg"][key], 3))
        rows.append(row)
    row = ["machine CPU busy %"]
    for r in results:
        for d in r.get("drain", []):
            row.append(fmt(d["ours"]["machine_busy_pct"], 0))
    rows.append(row)
    return md_table(["ms per message (dispatcher-seconds ÷ messages)", *columns], rows)


def planning_events(results: list[dict]):
    """(database, its planning part, event) for each database that ran the planning part, event by event."""
    for r in results:
        if p := r.get("planning"):
            for event in EVENTS:
                yield r["database"], p, event


def planning_table(results: list[dict]) -> str:
    header = ["db", "event", "no planner p50", "p95", "planner, no rule on p50", "p95", "rules on p50", "p95",
              "added p50", "added p95", "queries off→on", f"added p50 <{BUDGET_PLANNING_P50_MS:.0f} ms"]  # fmt: skip
    rows = []
    for database, p, event in planning_events(results):
        off, none, on = (p["ms"][mode][event] for mode in PLANNING_MODES)
        added50, added95 = on["p50"] - off["p50"], on["p95"] - off["p95"]
        rows.append(
            [
                database,
                event,
                fmt(off["p50"], 2),
                fmt(off["p95"], 2),
                fmt(none["p50"], 2),
                fmt(none["p95"], 2),
                fmt(on["p50"], 2),
                fmt(on["p95"], 2),
                fmt(added50, 2),
                fmt(added95, 2),
                f"{p['queries']['off'].get(event, '?')}→{p['queries']['on'].get(event, '?')}",
                "MET" if added50 < BUDGET_PLANNING_P50_MS else "MISSED",
            ]
        )
    return md_table(header, rows) if rows else ""


def planner_steps_table(results: list[dict]) -> str:
    names = ["planner total", "order_messages_cancel_unfitting", "order_messages_cancel_unfitting_and_rules_load",
             "rule query + rest", "rule_matches", "message_build", "messages_insert"]  # fmt: skip
    rows = []
    for database, p, event in planning_events(results):
        steps = p["planner_steps_p50_ms"].get(event, {})
        rows.append([database, event, *[fmt(steps.get(name), 2) for name in names]])
    return md_table(["db", "event (rules on), p50 ms", *names], rows) if rows else ""


def idle_table(results: list[dict]) -> str:
    header = ["db", "future rows", "seed s", "tick p50 ms", "tick p95 ms", "claim only p50 ms", "dispatch_due p50 ms",
              "claimed", "due index used"]  # fmt: skip
    rows = []
    for r in results:
        i = r.get("idle")
        if not i:
            continue
        rows.append(
            [
                r["database"],
                f"{i['scheduled_rows']:,}",
                fmt(i["seed_s"]),
                fmt(i["tick_batch_ms"]["p50"], 3),
                fmt(i["tick_batch_ms"]["p95"], 3),
                fmt(i["claim_only_ms"]["p50"], 3),
                fmt(i["dispatch_due_ms"]["p50"], 2),
                i["claimed_during_ticks"],
                "yes" if i["uses_due_index"] else "NO",
            ]
        )
    return md_table(header, rows) if rows else ""


def rate_table(results: list[dict]) -> str:
    header = ["db", "dispatchers", "limit /s", "messages", "achieved /s", "achieved ÷ limit", "most in any second",
              "longest pause ms", "put back for the pace", "verified", "≥95%", "never above"]  # fmt: skip
    rows = []
    for r in results:
        for e in r.get("rate") or []:
            rows.append(
                [
                    r["database"],
                    e["dispatchers"],
                    f"{e['allowed']:g}",
                    f"{e['received']:,} of {e['rows']:,}",
                    fmt(e["achieved"], 1),
                    fmt(e["share"], 3),
                    e["most_in_a_second"],
                    fmt(e.get("longest_pause_s", 0.0) * 1000, 1),
                    f"{e['tally'].get('paced', 0) + e['tally'].get('deferred', 0):,}",
                    "yes" if e["budget"]["verified"] else "NO: " + "; ".join(e["verify"]["problems"]),
                    "MET" if e["budget"]["share_ok"] else "MISSED",
                    "MET" if e["budget"]["never_above_ok"] else "MISSED",
                ]
            )
    return md_table(header, rows) if rows else ""


def markdown(results: list[dict], meta: dict) -> str:
    out = [
        "# Outbox benchmark",
        "",
        f"- Run: {meta['started']} on {meta['cpus']} CPU(s) ({meta['cpu_model']}), Python {meta['python']}",
        f"- Command: `{meta['command']}`",
        f"- Application code measured: sha256 {meta['app_code']['sha256_12']} of the journeys dispatch/planning "
        f"files, newest change {meta['app_code']['newest_mtime']}",
        f"- Budgets: drain ≥ {BUDGET_RATE:.0f} messages/s end to end and claim+record ≤ {BUDGET_OVERHEAD}× the raw "
        f"claim+ack SQL per message; planning adds < {BUDGET_PLANNING_P50_MS:.0f} ms p50 per order event; an idle "
        "tick is an index range scan",
        f"- Drain: {meta['messages']:,} due SMS rows (one shop, `shipped` rule, cycling through "
        f"{meta.get('recipients', 1):,} customers each with a shipped order); fake "
        f"Twilio in its own process with {meta['latency'] * 1000:.0f} ms latency per request; dispatcher processes "
        f"running `Dispatcher(channels=['sms'], batch_size={meta['batch']}).drain()` with "
        f"TWILIO_CONCURRENCY={meta['send_concurrency']}, each drain stopped after "
        f"{meta.get('drain_seconds') or '∞'} s; msg/s = messages sent ÷ wall from starting the dispatcher "
        "processes to the last exit",
        "- Raw: the dispatcher's own claim SQL then `UPDATE … SET status='sent', sent_at, provider_message_id, "
        "lease_owner='', lease_until=NULL, updated_at` for the claimed ids, one transaction each, on a DB-API "
        "connection per worker (as many as dispatchers), same batch size, the same number of rows re-seeded and "
        "drained oldest first",
        "",
        "## Drain",
        "",
        drain_table(results),
        "",
        "Where a dispatcher's time goes:",
        "",
        breakdown_table(results),
        "",
    ]
    if any(r.get("planning") for r in results):
        orders = next(r["planning"]["orders_per_mode"] for r in results if r.get("planning"))
        out += [
            "## Planning overhead per order event",
            "",
            f"{orders} order lifecycles per mode, interleaved; ms per service call (transaction included).",
            "",
            planning_table(results),
            "",
            "Inside the planner (rules on), p50 ms per event:",
            "",
            planner_steps_table(results),
            "",
        ]
    if any(r.get("rate") for r in results):
        out += [
            "## Provider rate limits",
            "",
            f"Due rows = limit × {meta.get('rate_seconds', 10):g} s (at least 50), drained through the account's rate "
            f"limit (TWILIO_RATE_PER_SECOND) by `Dispatcher.drain()` processes; fake Twilio answers in "
            f"{meta.get('rate_latency', 0.02) * 1000:.0f} ms. Achieved = messages after the first ÷ seconds from the "
            "first arrival at the fake to the last; most in a second = the largest count of arrivals within any "
            f"sliding one-second window. Budget: at least {BUDGET_RATE_SHARE:.0%} of the limit, never above it.",
            "",
            rate_table(results),
            "",
        ]
    if any(r.get("idle") for r in results):
        out += ["## Idle tick", "", idle_table(results), ""]
        for r in results:
            i = r.get("idle")
            if i:
                out += [f"### {r['database']}: plan of the claim query", "", "```", *i["plan"], "```", ""]
    for r in results:
        if r.get("profile") and r["profile"].get("profile"):
            out += [
                f"## {r['database']}: cProfile of one dispatcher ({r['profile']['messages']:,} messages)",
                "",
                "```",
                *r["profile"]["profile"]["cumulative"][:30],
                "```",
                "",
            ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ.get
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=env("BENCH_DB", "both"))
    parser.add_argument("--messages", type=int, default=int(env("BENCH_MESSAGES", 100_000)))
    parser.add_argument("--batch", type=int, default=int(env("BENCH_BATCH", 200)))
    parser.add_argument("--latency", type=float, default=float(env("BENCH_PROVIDER_LATENCY", 0.005)))
    parser.add_argument("--send-concurrency", type=int, default=int(env("BENCH_SEND_CONCURRENCY", 32)),
                        help="TWILIO_CONCURRENCY of each dispatcher")  # fmt: skip
    parser.add_argument("--pg-dispatchers", default=env("BENCH_PG_DISPATCHERS", "1,2"),
                        help="dispatcher counts to run on PostgreSQL, comma-separated")  # fmt: skip
    parser.add_argument("--drain-seconds", type=float, default=float(env("BENCH_DRAIN_SECONDS", 45)),
                        help="stop each drain after this long (0: drain everything)")  # fmt: skip
    parser.add_argument("--idle-messages", type=int, default=int(env("BENCH_IDLE_MESSAGES", 1_000_000)))
    parser.add_argument("--planning-orders", type=int, default=int(env("BENCH_PLANNING_ORDERS", 100)))
    parser.add_argument("--parts", default=env("BENCH_OUTBOX_PARTS", ",".join(PARTS)),
                        help="which of planning,drain,rate,idle to run")  # fmt: skip
    parser.add_argument("--recipients", type=int, default=int(env("BENCH_RECIPIENTS", "10000")),
                        help="customers (each with a shipped order) the seeded messages cycle through")  # fmt: skip
    parser.add_argument("--profile", action="store_true", default=env("BENCH_PROFILE", "") not in ("", "0"),
                        help="also run one dispatcher under cProfile")  # fmt: skip
    parser.add_argument("--profile-messages", type=int, default=20_000)
    parser.add_argument("--rates", default=env("BENCH_RATES", "10,100,1000"),
                        help="provider rate limits (messages/s) for the rate part, comma-separated")  # fmt: skip
    parser.add_argument("--rate-seconds", type=float, default=float(env("BENCH_RATE_SECONDS", 10)),
                        help="rows seeded per rate limit = limit × this many seconds (at least 50)")  # fmt: skip
    parser.add_argument("--rate-latency", type=float, default=float(env("BENCH_RATE_LATENCY", 0.020)),
                        help="fake Twilio's response time in the rate part")  # fmt: skip
    parser.add_argument("--time-limit", type=float, default=900, help="seconds allowed per drain")
    options = parser.parse_args()
    options.parts = [part.strip() for part in options.parts.split(",") if part.strip()]
    options.pg_dispatchers = [int(n) for n in str(options.pg_dispatchers).split(",") if n.strip()]
    options.rates = [float(n) for n in str(options.rates).split(",") if n.strip()]
    if unknown := set(options.parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}")
    if options.messages < 1 or options.batch < 1:
        parser.error("--messages and --batch must be positive")

    load_at_start = os.getloadavg()
    started = time.monotonic()
    results = bench_each_database(options.db, lambda kind: bench_database(kind, options))

    meta = {
        **run_meta(__file__, started),
        "messages": options.messages,
        "recipients": options.recipients,
        "batch": options.batch,
        "latency": options.latency,
        "send_concurrency": options.send_concurrency,
        "drain_seconds": options.drain_seconds,
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "idle_messages": options.idle_messages,
        "rates": options.rates,
        "rate_seconds": options.rate_seconds,
        "rate_latency": options.rate_latency,
        "parts": options.parts,
        "budget": {
            "messages_per_s": BUDGET_RATE,
            "overhead_ratio": BUDGET_OVERHEAD,
            "planning_added_p50_ms": BUDGET_PLANNING_P50_MS,
            "rate_share": BUDGET_RATE_SHARE,
        },
        "app_code": app_code_fingerprint(APP_CODE_FILES),
    }
    print()
    print(f"Outbox drain: {options.messages:,} due SMS, batch {options.batch}, {options.send_concurrency} sends at "
          f"once per dispatcher, fake latency {options.latency * 1000:.0f} ms; app code "
          f"{meta['app_code']['sha256_12']}")  # fmt: skip
    print(drain_table(results))
    breakdown = breakdown_table(results)
    if breakdown:
        print()
        print(breakdown)
    planning_text = planning_table(results)
    if planning_text:
        print()
        print("Planning overhead per order event (ms):")
        print(planning_text)
        print()
        print(planner_steps_table(results))
    rate_text = rate_table(results)
    if rate_text:
        print()
        print(f"Provider rate limits (fake latency {options.rate_latency * 1000:.0f} ms):")
        print(rate_text)
    idle_text = idle_table(results)
    if idle_text:
        print()
        print(f"Idle tick with {options.idle_messages:,} future rows:")
        print(idle_text)
        for r in results:
            if r.get("idle"):
                print(f"[{r['database']}] claim query plan:")
                for line in r["idle"]["plan"]:
                    print(f"    {line}")
    for r in results:
        for d in r.get("drain", []):
            for problem in d["verify"]["problems"] + d["raw_verify"]["problems"]:
                print(f"[{r['database']} ×{d['dispatchers']}] MISMATCH: {problem}")
        if r.get("profile") and r["profile"].get("profile"):
            print(f"[{r['database']}] cProfile (cumulative, main thread):")
            for line in r["profile"]["profile"]["cumulative"][:30]:
                print(f"    {line}")
    write_results("outbox", meta, results, markdown)
    return 1 if any("crashed" in r for r in results) else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "_django":
        print(json.dumps(django_main(sys.argv[2], json.loads(sys.argv[3])), default=str))
    elif len(sys.argv) >= 4 and sys.argv[1] == "_dispatch":
        print(json.dumps(dispatch_main(json.loads(sys.argv[3])), default=str))
    else:
        sys.exit(main())

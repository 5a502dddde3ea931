#!/usr/bin/env python
"""Benchmark: signed Shopify `orders/create` deliveries against a running gunicorn, per database.

For each database (SQLite in a fresh temporary VAR_DIR; PostgreSQL in a fresh database
`bench_ingest_<pid>` on postgres@127.0.0.1:5432, skipped with a message when it does not answer):

1. migrate, create a shop, read its webhook secret;
2. start `gunicorn merchant.wsgi` on a free 127.0.0.1 port with production-like settings
   (DEBUG=false, random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT=false, ENV_FILE=);
3. from a second process (standard library only: http.client + threads) send a warm-up and then
   N signed deliveries, each a distinct order, over C keep-alive connections; record latencies;
4. verify the database holds exactly warm-up + N processed InboundEvents and as many orders;
5. in the same database, time a raw ORM loop inserting the rows one delivery creates
   (InboundEvent + Customer + Order + OrderLines + OrderEvent), one transaction per delivery;
6. probe one delivery in-process (django.test.Client) for its query count and where time goes;
7. print a table, write bench/results/webhook_ingest.{json,md}, stop gunicorn, drop the database.

Exit status is non-zero only when the benchmark itself crashes; a missed budget is printed as a
verdict. Usage:

    .venv/bin/python bench/webhook_ingest.py --deliveries 2000 --concurrency 8 --db both
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import functools
import hashlib
import hmac
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
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
    gunicorn_bin,
    machine_busy,
    md_table,
    percentile,
    postgres_cpu_s,
    process_group_cpu_s,
    python_bin,
    run,
    run_meta,
    scratch_database,
    stop_process,
    wait_until_up,
    write_results,
)

DEFAULT_FIXTURE = Path(
    os.environ.get("SHOPIFY_ORDER_FIXTURE", str(ROOT.parent / "shared/fixtures/external/shopify/rest_order.json"))
)
SLUG = "bench-shop"
# The server shape the deploy guide recommends per database. SQLite has one writer: threads of
# one process would queue in its sleeping busy handler, so four single-threaded processes answer
# faster; PostgreSQL takes concurrent writers, and threads keep connections warm.
SERVER_SHAPES = {
    "sqlite": {"workers": 4, "threads": 1, "worker_class": "sync"},
    "postgres": {"workers": 2, "threads": 4, "worker_class": "gthread"},
}
BUDGET_RATE = 200.0  # deliveries/s
BUDGET_P95_MS = 50.0
REQUEST_TIMEOUT = 30.0  # seconds, per request
# Which application code was measured (the tree changes under us): the files on the delivery's path.
APP_CODE_FILES = [
    "merchant/webhook_views.py",
    "merchant/services/inbound.py",
    "merchant/services/order_sync.py",
    "merchant/services/orders.py",
    "merchant/services/customers.py",
    "merchant/platforms/shopify.py",
    "merchant/models.py",
    "merchant/settings.py",
]


# --- Payloads (shared by the client process and the in-process probe) --------------------------


def load_fixture(path: Path) -> dict:
    data = json.loads(path.read_text())
    return data.get("order", data)


def order_body(template: dict, index: int) -> bytes:
    """The fixture order made distinct: order id, name/number, customer id and email, line ids."""
    order = copy.deepcopy(template)
    base = 9_000_000_000 + index * 10
    order["id"] = base
    order["name"] = f"#B{index}"
    order["number"] = index
    order["order_number"] = 100_000 + index
    order["token"] = order["checkout_token"] = order["cart_token"] = uuid.uuid4().hex
    email = f"bench.buyer.{index}@example.com"
    order["email"] = email
    customer = order.get("customer")
    if isinstance(customer, dict):
        customer["id"] = base + 1
        customer["email"] = email
        customer["first_name"] = f"Buyer{index}"
        if isinstance(customer.get("default_address"), dict):
            customer["default_address"]["id"] = base + 1
    line_ids = {}
    for position, line in enumerate(order.get("line_items") or []):
        new_id = base * 10 + position
        line_ids[line.get("id")] = new_id
        line["id"] = new_id
    for position, fulfillment in enumerate(order.get("fulfillments") or []):
        fulfillment["id"] = base + 5 + position
        fulfillment["order_id"] = base
        for line in fulfillment.get("line_items") or []:
            line["id"] = line_ids.get(line.get("id"), line.get("id"))
    return json.dumps(order, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery_headers(secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": f"{SLUG}.myshopify.com",
        "X-Shopify-API-Version": "2024-01",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": dt.datetime.now(dt.UTC).isoformat(),
    }


# --- Client process (standard library only) ----------------------------------------------------


def client_main(config: dict) -> dict:
    """Send warm-up then measured deliveries; return latencies (seconds) and statuses."""
    host, port, path = config["host"], config["port"], config["path"]
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit("loopback addresses only")
    template = load_fixture(Path(config["fixture"]))
    secret = config["secret"]
    concurrency = config["concurrency"]

    def prepare(first: int, count: int) -> list[tuple[bytes, dict]]:
        items = []
        for index in range(first, first + count):
            body = order_body(template, index)
            items.append((body, delivery_headers(secret, body)))
        return items

    def run_phase(items: list[tuple[bytes, dict]], deadline: float) -> dict:
        results: list[tuple[float, int, str] | None] = [None] * len(items)
        cursor = iter(range(len(items)))
        lock = threading.Lock()

        def worker():
            conn = None
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None or time.monotonic() > deadline:
                    break
                body, headers = items[index]
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
                started = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    elapsed = time.perf_counter() - started
                    status = response.status
                    try:
                        outcome = json.loads(payload).get("status", "")
                    except ValueError:
                        outcome = "not-json"
                    if response.getheader("Connection", "").lower() == "close" or response.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as error:
                    elapsed = time.perf_counter() - started
                    status, outcome = 0, f"{type(error).__name__}: {error}"
                    if conn is not None:
                        conn.close()
                    conn = None
                results[index] = (elapsed, status, outcome)
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
        wall = time.perf_counter() - started
        done = [result for result in results if result is not None]
        return {
            "wall_s": wall,
            "sent": len(done),
            "planned": len(items),
            "latencies_s": [result[0] for result in done],
            "statuses": [result[1] for result in done],
            "outcomes": [result[2] for result in done],
            "stuck_threads": sum(thread.is_alive() for thread in threads),
        }

    warm_items = prepare(0, config["warmup"])
    measured_items = prepare(config["warmup"], config["deliveries"])
    start = time.monotonic()
    warm = run_phase(warm_items, start + config["time_limit"])
    measured_started_epoch = time.time()
    measured = run_phase(measured_items, time.monotonic() + config["time_limit"])
    measured["started_epoch"] = measured_started_epoch
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "warmup": warm,
        "measured": measured,
        "body_bytes": len(measured_items[0][0]) if measured_items else 0,
        "client_cpu_s": usage.ru_utime + usage.ru_stime,
    }


# --- Django helpers (run in a subprocess with the bench database's environment) ----------------


def django_main(action: str, args: dict) -> dict:
    django_setup()
    from django.db import connection

    from merchant.models import InboundEvent, Merchant, Order

    shop = Merchant.objects.get(slug=args["slug"])
    if action == "secret":
        return {"webhook_secret": shop.webhook_secret, "shopify_webhook_secret": shop.shopify_webhook_secret}
    if action == "drain":
        return drain(shop, args)
    if action == "verify":
        events = InboundEvent.objects.filter(shop=shop)
        by_status = {}
        for status in events.values_list("status", flat=True):
            by_status[status] = by_status.get(status, 0) + 1
        failures = list(events.exclude(status="processed").values_list("status", "error")[:5])
        return {
            "inbound_events": events.count(),
            "by_status": by_status,
            "orders": Order.objects.filter(shop=shop, source_platform="shopify").count(),
            "events_without_order": events.filter(status="processed", order__isnull=True).count(),
            "sample_failures": failures,
            "vendor": connection.vendor,
            **apply_timing(shop, args.get("measured_started_epoch")),
        }
    if action == "rows":
        return table_counts()
    if action == "raw":
        return raw_insert(shop, args)
    if action == "probe":
        return probe(shop, args)
    raise SystemExit(f"unknown action {action}")


def drain(shop, args: dict) -> dict:
    """Wait until no delivery of the shop is still `received` (applied by the cluster), bounded by
    a deadline and by a stall limit (no progress for `stall_s`)."""
    from merchant.models import InboundEvent

    started = time.monotonic()
    deadline = started + args["timeout_s"]
    last_left, last_progress = None, started
    while True:
        left = InboundEvent.objects.filter(shop=shop, status="received").count()
        now = time.monotonic()
        if left == 0:
            return {"drained": True, "left": 0, "waited_s": now - started}
        if left != last_left:
            last_left, last_progress = left, now
        if now > deadline or now - last_progress > args["stall_s"]:
            return {"drained": False, "left": left, "waited_s": now - started, "stalled": now <= deadline}
        time.sleep(0.25)


def apply_timing(shop, started_epoch: float | None) -> dict:
    """For the measured deliveries: applied/s from the first request to the last apply, and the lag
    between storing and applying each one."""
    if not started_epoch:
        return {}
    from merchant.models import InboundEvent

    since = dt.datetime.fromtimestamp(started_epoch, dt.UTC)
    rows = list(
        InboundEvent.objects.filter(shop=shop, received_at__gte=since, processed_at__isnull=False).values_list(
            "received_at", "processed_at"
        )
    )
    if not rows:
        return {"measured_applied": 0}
    lags = sorted((processed - received).total_seconds() * 1000 for received, processed in rows)
    last = max(processed for _received, processed in rows)
    span = (last - since).total_seconds()
    return {
        "measured_applied": len(rows),
        "applied_span_s": span,
        "applied_per_s": len(rows) / span if span > 0 else None,
        "apply_lag_ms": {"p50": percentile(lags, 0.5), "p95": percentile(lags, 0.95), "max": lags[-1]},
    }


def table_counts() -> dict[str, int]:
    from django.apps import apps

    counts = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            counts[model._meta.db_table] = model._default_manager.using("default").count()
    return counts


def raw_insert(shop, args: dict) -> dict:
    """The rows one delivery creates, inserted with the ORM, one transaction (one commit) per
    delivery: InboundEvent + Customer + Order + its OrderLines (bulk) + OrderEvents (bulk), then the
    InboundEvent marked processed (the app writes it twice too). No HTTP, no HMAC, no JSON parsing,
    no services, no validation."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from merchant.models import Customer, InboundEvent, Order, OrderEvent, OrderLine

    template = load_fixture(Path(args["fixture"]))
    lines_per_order = args["lines_per_delivery"]
    events_per_order = args["order_events_per_delivery"]
    count, first = args["deliveries"], args["first_index"]
    binary_body = InboundEvent._meta.get_field("body").get_internal_type() == "BinaryField"
    bodies = [order_body(template, first + i) for i in range(count)]
    if not binary_body:
        bodies = [body.decode() for body in bodies]
    line_items = (template.get("line_items") or [])[:lines_per_order] or [{"title": "x", "price": "1.00", "sku": ""}]
    started = time.perf_counter()
    for i in range(count):
        index = first + i
        now = timezone.now()
        with transaction.atomic():
            event = InboundEvent.objects.create(
                shop=shop,
                source="shopify",
                topic="orders/create",
                delivery_id=f"raw-{index}",
                dedupe_key=f"raw:{index}",
                headers={"X-Shopify-Topic": "orders/create"},
                body=bodies[i],
            )
            customer = Customer.objects.create(
                shop=shop,
                external_id=f"raw-{index}",
                first_name=f"Buyer{index}",
                last_name="Norman",
                email=f"raw.buyer.{index}@example.com",
                country="US",
                time_zone="America/New_York",
                time_zone_source="country",
            )
            order = Order.objects.create(
                shop=shop,
                customer=customer,
                external_id=f"raw-{index}",
                number=f"#R{index}",
                currency="USD",
                placed_at=now,
                status_changed_at=now,
                subtotal=Decimal("597.00"),
                total=Decimal("598.40"),
                source_platform="shopify",
            )
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order,
                        title=item.get("title", "")[:255],
                        quantity=1,
                        unit_price=Decimal(str(item.get("price", "1.00"))),
                        sku=(item.get("sku") or "")[:100],
                        external_id=f"raw-{index}-{position}",
                    )
                    for position in range(lines_per_order)
                    for item in [line_items[position % len(line_items)]]
                ]
            )
            OrderEvent.objects.bulk_create(
                [
                    OrderEvent(
                        order=order,
                        type="created",
                        to_status="pending_payment",
                        actor_kind="webhook",
                        actor_label="shopify orders/create",
                        source="shopify",
                        occurred_at=now,
                    )
                    for _ in range(events_per_order)
                ]
            )
            event.status, event.order, event.processed_at, event.attempts = "processed", order, now, 1
            event.save(update_fields=["status", "order", "processed_at", "attempts"])
    elapsed = time.perf_counter() - started
    return {
        "deliveries": count,
        "seconds": elapsed,
        "per_s": count / elapsed if elapsed else 0.0,
        "rows_per_delivery": 3 + lines_per_order + events_per_order,
        "method": "Django ORM, one transaction per delivery, sequential, one connection; "
        f"InboundEvent create+update, Customer, Order, {lines_per_order} OrderLine (bulk_create), "
        f"{events_per_order} OrderEvent (bulk_create)",
    }


def probe(shop, args: dict) -> dict:
    """Apply deliveries in-process through django.test.Client; count queries, time SQL vs the rest
    (perf_counter around each query), profile where the rest goes, and count the rows one delivery
    adds per table."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    template = load_fixture(Path(args["fixture"]))
    secret = args["secret"]
    client = Client(HTTP_HOST="127.0.0.1")
    path = f"/webhooks/shopify/{shop.slug}"
    sql_time = [0.0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - started

    from merchant.models import InboundEvent
    from merchant.services.inbound import inbound_event_process

    def deliver(index: int):
        body = order_body(template, index)
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery_headers(secret, body).items()}
        headers.pop("HTTP_CONTENT_TYPE")
        return client.post(path, data=body, content_type="application/json", **headers)

    def apply_if_queued(response):
        """The app may answer `received` and leave applying to the django-q cluster: apply here."""
        event = InboundEvent.objects.get(pk=json.loads(response.content)["event"])
        if event.status == "received":
            return inbound_event_process(event=event)
        return None

    def kinds_of(queries) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for query in queries:
            sql = query["sql"].lstrip().upper()
            word = sql.split(None, 1)[0] if sql else "?"
            if word == "SELECT" and "FOR UPDATE" in sql:
                word = "SELECT FOR UPDATE"
            if word in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
                word = "TX:" + word
            kinds[word] = kinds.get(word, 0) + 1
        return kinds

    samples = []
    rows_before = table_counts()
    first_rows = None
    for n in range(args["count"]):
        sql_time[0] = 0.0
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timed):
            started = time.perf_counter()
            response = deliver(args["first_index"] + n)
            total = time.perf_counter() - started
        http_sql = sql_time[0]
        sql_time[0] = 0.0
        with CaptureQueriesContext(connection) as applied, connection.execute_wrapper(timed):
            started = time.perf_counter()
            applied_event = apply_if_queued(response)
            apply_total = time.perf_counter() - started
        if n == 0:
            after = table_counts()
            first_rows = {t: after[t] - rows_before.get(t, 0) for t in after if after[t] != rows_before.get(t, 0)}
        queries = captured.captured_queries
        samples.append(
            {
                "status": response.status_code,
                "outcome": json.loads(response.content).get("status"),
                "final_status": applied_event.status if applied_event is not None else None,
                "total_ms": total * 1000,
                "sql_ms": http_sql * 1000,
                "queries": len(queries),
                "kinds": kinds_of(queries),
                "apply_ms": apply_total * 1000,
                "apply_sql_ms": sql_time[0] * 1000,
                "apply_queries": len(applied.captured_queries),
                "apply_kinds": kinds_of(applied.captured_queries),
                "sql": [q["sql"][:140] for q in [*queries, *applied.captured_queries]]
                if n == args["count"] - 1
                else None,
            }
        )
    after_all = table_counts()
    steady = samples[1:] or samples

    # Where the non-SQL time goes: cProfile over more deliveries (profiling inflates the absolute numbers).
    profiler = cProfile.Profile()
    profiled = args["count"]
    profiler.enable()
    for n in range(profiled):
        apply_if_queued(deliver(args["first_index"] + args["count"] + n))
    profiler.disable()
    stats = pstats.Stats(profiler)
    wanted = {
        "shopify_webhook": "view (all of it)",
        "signature_matches": "HMAC check",
        "inbound_event_receive": "store raw delivery",
        "inbound_event_process": "apply (handler + status update)",
        "inbound_event_schedule": "enqueue for the cluster",
        "async_task": "django-q async_task",
        "products_sync": "products_sync",
        "order_snapshot": "parse Shopify JSON to snapshot",
        "order_sync": "order_sync",
        "customer_sync": "customer_sync",
        "product_sync": "product_sync (per line)",
        "order_create": "order_create",
        "full_clean": "model full_clean (validation)",
        "_finish": "mark event processed",
        "refresh_from_db": "refresh_from_db",
        "phone_parse": "phone parsing",
        "_phone_read": "phone read",
        "derive_time_zone": "derive time zone",
        "execute": "cursor.execute (SQL incl. driver)",
        "get_response": "Django handler incl. middleware",
    }
    phases = {}
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        if name in wanted and ("merchant" in filename or "django" in filename):
            if name == "execute" and "backends/utils.py" not in filename:
                continue
            if name == "get_response" and "core/handlers/base.py" not in filename:
                continue
            key = f"{name} ({wanted[name]})"
            phases[key] = phases.get(key, 0.0) + cumulative * 1000 / profiled
    top = sorted(
        ((tt, name, filename, line) for (filename, line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items()),
        reverse=True,
    )[:15]
    return {
        "deliveries": len(samples),
        "statuses": sorted({sample["outcome"] for sample in samples}),
        "final_statuses": sorted({str(sample["final_status"]) for sample in samples}),
        "applied_in_request": all(sample["final_status"] is None for sample in samples),
        "queries_per_delivery": statistics.median(s["queries"] + s["apply_queries"] for s in steady),
        "http_queries": statistics.median(sample["queries"] for sample in steady),
        "query_kinds": steady[-1]["kinds"],
        "apply_queries": statistics.median(sample["apply_queries"] for sample in steady),
        "apply_query_kinds": steady[-1]["apply_kinds"],
        "total_ms_median": statistics.median(sample["total_ms"] for sample in steady),
        "sql_ms_median": statistics.median(sample["sql_ms"] for sample in steady),
        "apply_ms_median": statistics.median(sample["apply_ms"] for sample in steady),
        "apply_sql_ms_median": statistics.median(sample["apply_sql_ms"] for sample in steady),
        "rows_first_delivery": first_rows,
        "rows_per_delivery_after_first": {
            table: (after_all[table] - rows_before.get(table, 0) - first_rows.get(table, 0)) / max(1, len(samples) - 1)
            for table in after_all
            if after_all[table] - rows_before.get(table, 0) - first_rows.get(table, 0)
        },
        "profile_ms_per_delivery": dict(sorted(phases.items(), key=lambda item: -item[1])),
        "profile_top_self_ms_per_delivery": [
            f"{tt * 1000 / profiled:.2f} ms {name} {code_location(filename)}:{line}" for tt, name, filename, line in top
        ],
        "last_delivery_sql": steady[-1]["sql"],
    }


# --- Orchestration ---------------------------------------------------------------------------------


# `python bench/webhook_ingest.py <mode> <action> <args>`: mode `_django` (the Django side, with the bench
# database's environment) or `_client` (the load generator).
helper = functools.partial(call_script, __file__)


def cpu_ms(before: float | None, after: float | None, deliveries: int) -> float | None:
    return (after - before) * 1000 / deliveries if before is not None and after is not None and deliveries else None


def bench_database(kind: str, options, fixture: Path) -> dict:
    server = cluster = None
    result: dict = {"database": kind}
    with scratch_database("ingest", kind) as (tmp, database_url):
        try:
            env = base_env(tmp / "var", database_url, SECURE_HSTS_SECONDS="0")
            py = python_bin()
            print(f"[{kind}] migrate …", flush=True)
            run([py, "manage.py", "migrate", "--noinput"], env, timeout=600)
            run(
                [py, "manage.py", "createmerchant", SLUG, "--name", "Bench Shop", "--country", "US", "--timezone",
                 "America/New_York"],
                env, timeout=300,
            )  # fmt: skip
            keys = helper("_django", "secret", {"slug": SLUG}, env, 120)
            secret = keys["shopify_webhook_secret"] or keys["webhook_secret"]
            if not secret:
                raise BenchError("the shop has no webhook secret")

            port = free_port()
            log = tmp / "gunicorn.log"
            server_shape = {
                **SERVER_SHAPES[kind],
                **{k: v for k, v in vars(options).items() if k in SERVER_SHAPES[kind] and v},
            }
            gunicorn_cmd = [
                gunicorn_bin(), "merchant.wsgi:application",
                "--bind", f"{LOOPBACK}:{port}",
                "--workers", str(server_shape["workers"]),
                "--threads", str(server_shape["threads"]),
                "--worker-class", server_shape["worker_class"],
                "--timeout", "60", "--graceful-timeout", "10", "--keep-alive", "30",
                "--error-logfile", str(log), "--log-level", "warning",
            ]  # fmt: skip
            print(f"[{kind}] gunicorn {' '.join(gunicorn_cmd[2:])}", flush=True)
            with open(log, "ab") as log_file:
                server = subprocess.Popen(  # noqa: S603 - our own command lines
                    gunicorn_cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
                )
            # Deliveries the app answers as `received` are applied by the drainer (in production the
            # django-q2 cluster runs it on a schedule; here it runs as its own process from the start,
            # so the apply rate is not skewed by when the scheduler first fires).
            cluster_log = tmp / "drainer.log"
            if options.cluster:
                print(f"[{kind}] manage.py process_inbound (the drainer)", flush=True)
                with open(cluster_log, "ab") as log_file:
                    cluster = subprocess.Popen(  # noqa: S603 - our own command lines
                        [py, "manage.py", "process_inbound"], cwd=ROOT, env=env,
                        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                    )  # fmt: skip
            boot_s = wait_until_up(port, server, log, path=f"/webhooks/shopify/{SLUG}", ready=(405, 401, 200))
            cluster_started = cluster is not None

            client_config = {
                "host": LOOPBACK,
                "port": port,
                "path": f"/webhooks/shopify/{SLUG}",
                "secret": secret,
                "fixture": str(fixture),
                "deliveries": options.deliveries,
                "warmup": options.warmup,
                "concurrency": options.concurrency,
                "time_limit": options.time_limit,
            }
            print(
                f"[{kind}] {options.warmup} warm-up + {options.deliveries} deliveries, "
                f"{options.concurrency} connections …",
                flush=True,
            )
            client_env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}

            def cpu_snapshot():
                return (
                    process_group_cpu_s(server.pid),
                    process_group_cpu_s(cluster.pid) if cluster else 0.0,
                    postgres_cpu_s(reaped_children=False),
                    machine_busy(),
                )

            before = cpu_snapshot()
            client = helper("_client", "send", client_config, client_env, options.time_limit * 2 + 120)
            after_send = cpu_snapshot()
            drained = helper(
                "_django", "drain", {"slug": SLUG, "timeout_s": options.drain_timeout, "stall_s": 60}, env,
                options.drain_timeout + 120,
            )  # fmt: skip
            if drained["waited_s"] > 0.5:
                print(f"[{kind}] waited {drained['waited_s']:.1f}s for the cluster to apply the queued deliveries "
                      f"({'done' if drained['drained'] else str(drained['left']) + ' left'})", flush=True)  # fmt: skip
            after_drain = cpu_snapshot()
            stop_process(server)
            stop_process(cluster)
            server = cluster = None

            measured = client["measured"]
            lat_ms = [value * 1000 for value in measured["latencies_s"]]
            good = ("processed", "received")  # applied in the request, or stored and queued for the cluster

            def bad(status, outcome):
                return status != 200 or outcome not in good

            errors = sum(
                1
                for status, outcome in zip(measured["statuses"], measured["outcomes"], strict=True)
                if bad(status, outcome)
            )
            warm_errors = sum(
                1
                for st, out in zip(client["warmup"]["statuses"], client["warmup"]["outcomes"], strict=True)
                if bad(st, out)
            )
            answered: dict[str, int] = {}
            for outcome in measured["outcomes"]:
                answered[outcome[:40]] = answered.get(outcome[:40], 0) + 1
            error_kinds: dict[str, int] = {}
            for status, outcome in zip(
                measured["statuses"] + client["warmup"]["statuses"],
                measured["outcomes"] + client["warmup"]["outcomes"],
                strict=True,
            ):
                if bad(status, outcome):
                    key = f"{status} {outcome}"[:120]
                    error_kinds[key] = error_kinds.get(key, 0) + 1
            rate = measured["sent"] / measured["wall_s"] if measured["wall_s"] else 0.0

            verify = helper(
                "_django", "verify", {"slug": SLUG, "measured_started_epoch": measured.get("started_epoch")}, env, 300
            )
            expected = options.warmup + options.deliveries
            processed = verify["by_status"].get("processed", 0)
            mismatches = []
            if measured["sent"] != measured["planned"]:
                mismatches.append(
                    f"only {measured['sent']} of {measured['planned']} deliveries were sent before the time limit"
                )
            if verify["inbound_events"] != expected:
                mismatches.append(f"{verify['inbound_events']} InboundEvents stored, expected {expected}")
            if processed != expected:
                mismatches.append(
                    f"{processed} InboundEvents processed, expected {expected} (by status: {verify['by_status']})"
                )
            if verify["orders"] != expected:
                mismatches.append(f"{verify['orders']} orders, expected {expected}")
            if not drained["drained"]:
                mismatches.append(
                    f"{drained['left']} deliveries still not applied after {drained['waited_s']:.0f}s"
                    + (" (no progress for 60s: is the cluster applying them?)" if drained.get("stalled") else "")
                )

            # The rows one delivery writes, measured on a delivery applied in-process (not timed in the table).
            probe_result = helper(
                "_django", "probe",
                {"slug": SLUG, "secret": secret, "fixture": str(fixture), "count": options.probe,
                 "first_index": 10_000_000},
                env, 600,
            )  # fmt: skip
            per_delivery = probe_result["rows_per_delivery_after_first"]
            lines = round(per_delivery.get("merchant_orderline", 3))
            order_events = round(per_delivery.get("merchant_orderevent", 1))
            print(f"[{kind}] raw ORM insert of {options.deliveries} deliveries' rows …", flush=True)
            raw = helper(
                "_django", "raw",
                {"slug": SLUG, "fixture": str(fixture), "deliveries": options.deliveries, "first_index": 20_000_000,
                 "lines_per_delivery": lines, "order_events_per_delivery": order_events},
                env, options.time_limit * 4 + 300,
            )  # fmt: skip

            p95 = percentile(lat_ms, 0.95)
            result.update(
                {
                    "gunicorn": {**server_shape, "boot_s": boot_s},
                    "deliveries": measured["sent"],
                    "warmup": options.warmup,
                    "concurrency": options.concurrency,
                    "body_bytes": client["body_bytes"],
                    "wall_s": measured["wall_s"],
                    "deliveries_per_s": rate,
                    "latency_ms": {
                        "p50": percentile(lat_ms, 0.50),
                        "p95": p95,
                        "p99": percentile(lat_ms, 0.99),
                        "max": max(lat_ms) if lat_ms else float("nan"),
                        "mean": statistics.fmean(lat_ms) if lat_ms else float("nan"),
                    },
                    "answered": answered,
                    "drain": drained,
                    "applied_per_s": verify.get("applied_per_s"),
                    "apply_lag_ms": verify.get("apply_lag_ms"),
                    "server_cpu_ms_per_delivery": cpu_ms(before[0], after_drain[0], expected),
                    "cluster_cpu_ms_per_delivery": cpu_ms(before[1], after_drain[1], expected)
                    if cluster_started
                    else None,
                    "client_cpu_ms_per_delivery": client["client_cpu_s"] * 1000 / (expected or 1),
                    "postgres_cpu_ms_per_delivery": cpu_ms(before[2], after_drain[2], expected)
                    if kind == "postgres"
                    else None,
                    "machine_cpu_busy_pct_sending": busy_pct(before[3], after_send[3]),
                    "machine_cpu_busy_pct_draining": busy_pct(after_send[3], after_drain[3])
                    if drained["waited_s"] > 1
                    else None,
                    "errors": errors,
                    "warmup_errors": warm_errors,
                    "error_kinds": error_kinds,
                    "verify": verify,
                    "mismatches": mismatches,
                    "raw": raw,
                    "ratio_ours_to_raw": rate / raw["per_s"] if raw["per_s"] else None,
                    "probe": probe_result,
                    "budget": {
                        "rate_ok": rate >= BUDGET_RATE,
                        "p95_ok": p95 < BUDGET_P95_MS,
                        "met": rate >= BUDGET_RATE
                        and p95 < BUDGET_P95_MS
                        and errors + warm_errors == 0
                        and not mismatches,
                    },
                }
            )
            log_text = log.read_text() if log.exists() else ""
            result["gunicorn_log_tail"] = log_text[-2000:] if ("Traceback" in log_text or "ERROR" in log_text) else ""
            log_text = cluster_log.read_text() if cluster_log.exists() else ""
            result["cluster_log_tail"] = log_text[-2000:] if ("Traceback" in log_text or "ERROR" in log_text) else ""
            return result
        finally:
            stop_process(server)
            stop_process(cluster)


def table(results: list[dict]) -> str:
    header = ["db", "deliveries/s", "p50 ms", "p95 ms", "p99 ms", "errors", "applied/s", "apply lag p95 ms",
              "raw deliveries/s", "accepted/raw", "applied/raw", "verified", "budget (HTTP)",
              "apply keeps up"]  # fmt: skip
    rows = []
    for r in results:
        if "skipped" in r:
            rows.append([r["database"], "skipped", "", "", "", "", "", "", "", "", "", "", r["skipped"][:60], ""])
            continue
        if "crashed" in r:
            rows.append([r["database"], "crashed", "", "", "", "", "", "", "", "", "", "", r["crashed"][:60], ""])
            continue
        lat = r["latency_ms"]
        verdict = "MET" if r["budget"]["met"] else "MISSED (" + ", ".join(
            part for part, bad in (
                (f"<{BUDGET_RATE:.0f}/s", not r["budget"]["rate_ok"]),
                (f"p95≥{BUDGET_P95_MS:.0f}ms", not r["budget"]["p95_ok"]),
                ("errors", bool(r["errors"] or r["warmup_errors"])),
                ("mismatch", bool(r["mismatches"])),
            ) if bad
        ) + ")"  # fmt: skip
        rows.append(
            [
                r["database"],
                fmt(r["deliveries_per_s"]),
                fmt(lat["p50"]),
                fmt(lat["p95"]),
                fmt(lat["p99"]),
                str(r["errors"]) + (f" (+{r['warmup_errors']} warm-up)" if r["warmup_errors"] else ""),
                fmt(r["applied_per_s"]),
                fmt((r["apply_lag_ms"] or {}).get("p95")),
                fmt(r["raw"]["per_s"]),
                fmt(r["ratio_ours_to_raw"], 2),
                fmt((r["applied_per_s"] or 0) / r["raw"]["per_s"] if r["raw"]["per_s"] else None, 2),
                "yes" if not r["mismatches"] else "NO",
                verdict,
                "yes" if (r["applied_per_s"] or 0) >= BUDGET_RATE else f"no (<{BUDGET_RATE:.0f}/s)",
            ]
        )
    return md_table(header, rows)


def markdown(results: list[dict], meta: dict) -> str:
    out = [
        "# Webhook ingest benchmark",
        "",
        f"- Run: {meta['started']} on {meta['cpus']} CPU(s), Python {meta['python']}",
        f"- Command: `{meta['command']}`",
        f"- Application code measured: sha256 {meta['app_code']['sha256_12']} of the delivery path files, "
        f"newest change {meta['app_code']['newest_mtime']}",
        f"- Budget: ≥ {BUDGET_RATE:.0f} deliveries/s and p95 < {BUDGET_P95_MS:.0f} ms (2-core machine)",
        f"- Server: gunicorn {meta['gunicorn']}; client: separate Python process, http.client, "
        f"{meta['concurrency']} keep-alive connections on 127.0.0.1; {meta['warmup']} warm-up deliveries excluded",
        "- Raw: Django ORM loop inserting the rows one delivery creates, one transaction per delivery, "
        "sequential on one connection, same database, after the server stopped",
        "- deliveries/s and latency: HTTP answers (a delivery is answered once stored); applied/s: first request "
        "to last delivery applied by the drainer; accepted/raw and applied/raw divide those rates by the raw rate",
        "",
        table(results),
        "",
    ]
    for r in results:
        if "probe" not in r:
            continue
        p = r["probe"]
        out += [
            f"## {r['database']}",
            "",
            *[f"- {line}" for line in describe(r)],
            "- Profile (ms per delivery, cumulative, inflated by cProfile): "
            + "; ".join(f"{name} {ms:.2f}" for name, ms in p["profile_ms_per_delivery"].items()),
        ]
        if r["mismatches"]:
            out.append(f"- **Mismatches:** {'; '.join(r['mismatches'])}")
        if r["error_kinds"]:
            out.append(f"- **Errors:** {r['error_kinds']}")
        out.append("")
    return "\n".join(out)


def describe(r: dict) -> list[str]:
    p = r["probe"]
    lines = [
        f"HTTP answers: {r['answered']} (applied in the request: "
        f"{'yes' if p['applied_in_request'] else 'no, stored and applied by the drainer'})",
        f"queries per delivery (in-process probe): {p['queries_per_delivery']} = HTTP request {p['http_queries']} "
        f"{p['query_kinds']} + apply {p['apply_queries']} {p['apply_query_kinds']}",
        f"in-process time per delivery: request {p['total_ms_median']:.1f} ms (SQL {p['sql_ms_median']:.1f}) + apply "
        f"{p['apply_ms_median']:.1f} ms (SQL {p['apply_sql_ms_median']:.1f})",
        f"rows per delivery: {p['rows_per_delivery_after_first']}; raw loop writes {r['raw']['rows_per_delivery']}",
        f"CPU per delivery: gunicorn {fmt(r['server_cpu_ms_per_delivery'])} ms, drainer "
        f"{fmt(r['cluster_cpu_ms_per_delivery'])} ms, postgres {fmt(r['postgres_cpu_ms_per_delivery'])} ms, load "
        f"generator {fmt(r['client_cpu_ms_per_delivery'])} ms; "
        f"machine CPU busy {fmt(r['machine_cpu_busy_pct_sending'], 0)}% "
        f"while sending, {fmt(r['machine_cpu_busy_pct_draining'], 0)}% while draining ({os.cpu_count()} CPUs)",
        f"apply: {fmt(r['applied_per_s'])} deliveries/s from first request to last apply; lag stored→applied "
        f"{ {k: round(v, 1) for k, v in (r['apply_lag_ms'] or {}).items()} } ms; "
        f"drain wait {r['drain']['waited_s']:.1f}s",
        f"raw: {r['raw']['method']}",
        f"verified: {r['verify']['inbound_events']} InboundEvents {r['verify']['by_status']}, "
        f"{r['verify']['orders']} orders",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=int(os.environ.get("BENCH_DELIVERIES", 2000)))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_CONCURRENCY", 8)))
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=os.environ.get("BENCH_DB", "both"))
    parser.add_argument("--workers", type=int, default=None, help="gunicorn worker processes (default per database)")
    parser.add_argument("--threads", type=int, default=None, help="threads per gunicorn worker (default per database)")
    parser.add_argument("--worker-class", default=None, help="gunicorn worker class (default per database)")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds allowed per phase (warm-up, measured)")
    parser.add_argument("--probe", type=int, default=20, help="deliveries applied in-process to count queries")
    parser.add_argument("--no-cluster", dest="cluster", action="store_false",
                        help="do not start the drainer (`manage.py process_inbound`) beside gunicorn")  # fmt: skip
    parser.add_argument(
        "--q-workers", type=int, default=2, help="django-q2 cluster workers (default 2, the app's default)"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=300, help="seconds to wait for queued deliveries to be applied"
    )
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE)
    options = parser.parse_args()
    if options.deliveries < 1 or options.concurrency < 1 or options.warmup < 0:
        parser.error("--deliveries and --concurrency must be positive, --warmup not negative")
    if not options.fixture.exists():
        print(
            f"webhook_ingest: fixture {options.fixture} not found (set --fixture or SHOPIFY_ORDER_FIXTURE)",
            file=sys.stderr,
        )
        return 2

    results = bench_each_database(options.db, lambda kind: bench_database(kind, options, options.fixture))

    meta = {
        **run_meta(__file__, with_cpu_model=False),
        "gunicorn": "; ".join(
            f"{kind}: --workers {shape['workers']} --threads {shape['threads']} --worker-class {shape['worker_class']}"
            for kind, shape in SERVER_SHAPES.items()
        )
        if not (options.workers or options.threads or options.worker_class)
        else f"--workers {options.workers} --threads {options.threads} --worker-class {options.worker_class}",
        "concurrency": options.concurrency,
        "warmup": options.warmup,
        "deliveries": options.deliveries,
        "budget": {"deliveries_per_s": BUDGET_RATE, "p95_ms": BUDGET_P95_MS},
        "app_code": app_code_fingerprint(APP_CODE_FILES),
    }
    print()
    print(f"Webhook ingest: {options.deliveries} deliveries, {options.concurrency} connections, "
          f"gunicorn {meta['gunicorn']}; "
          f"app code {meta['app_code']['sha256_12']} (newest change {meta['app_code']['newest_mtime']})")  # fmt: skip
    print(table(results))
    for r in results:
        if "probe" in r:
            for line in describe(r):
                print(f"[{r['database']}] {line}")
            p = r["probe"]
            print(f"[{r['database']}] profile (ms/delivery, cumulative, cProfile-inflated):")
            for name, ms in list(p["profile_ms_per_delivery"].items())[:14]:
                print(f"    {ms:7.2f}  {name}")
            for line in r["mismatches"]:
                print(f"[{r['database']}] MISMATCH: {line}")
            for kind, count in r["error_kinds"].items():
                print(f"[{r['database']}] error x{count}: {kind}")
            if r.get("gunicorn_log_tail"):
                print(f"[{r['database']}] gunicorn log tail:\n{r['gunicorn_log_tail']}")
    write_results("webhook_ingest", meta, results, markdown)
    return 1 if any("crashed" in r for r in results) else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "_client":
        print(json.dumps(client_main(json.loads(sys.argv[3]))))
    elif len(sys.argv) >= 4 and sys.argv[1] == "_django":
        print(json.dumps(django_main(sys.argv[2], json.loads(sys.argv[3])), default=str))
    else:
        sys.exit(main())

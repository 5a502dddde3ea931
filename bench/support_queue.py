#!/usr/bin/env python
"""Benchmark: the support queue's five views (admin /admin/returns/case/?view=…) with 100,000 cases.

For each database (SQLite in a fresh temporary VAR_DIR; PostgreSQL in a fresh database
`bench_supportqueue_<pid>` on postgres@127.0.0.1:5432, skipped with a message when it does not answer):

1. migrate; make a shop with 5 agents and BENCH_QUEUE_CASES cases (default 100,000: 30% open, of which a
   fifth unassigned and the rest spread over the agents; due times from 2 days ago to 5 days ahead; one or
   two items per case: returns, refunds, disputes, reviews, messages) with their orders and customers, plus
   another shop with a fifth as many cases that the agent must never see (bulk inserts, no services);
2. per view (Mine, Unassigned, Due soon, Overdue, All) GET the page in-process (django.test.Client, logged in
   as one agent, the whole middleware stack and the template) BENCH_QUEUE_REQUESTS times after a warm-up:
   p50/p95, queries per page, rows shown;
3. raw database figure: the statements the page ran (recorded with their parameters), replayed on one plain
   cursor as many times, fetched (no ORM, no template, no middleware);
4. print a table (ours, raw, ratio), write bench/results/support_queue.{json,md}, drop the database.

Budget (issue 8): constant query count, p95 < 200 ms per view with 100,000 cases. Knobs: BENCH_DB
(sqlite|postgres|both), BENCH_QUEUE_CASES, BENCH_QUEUE_REQUESTS. A missed budget is printed, not raised. Usage:

    .venv/bin/python bench/support_queue.py --db both
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

from benchkit import (
    app_code_fingerprint,
    base_env,
    bench_each_database,
    call_script,
    django_setup,
    fmt,
    md_table,
    percentile,
    python_bin,
    run,
    run_meta,
    scratch_database,
    write_results,
)

BUDGET_P95_MS = 200.0
VIEWS = ["mine", "unassigned", "due_soon", "overdue", "all"]
APP_CODE_FILES = [
    "returns/selectors/queue.py",
    "returns/admin/cases.py",
    "returns/models/cases.py",
    "templates/admin/returns/case/queue.html",
]


# --- Django helpers (a subprocess with the bench database's environment) --------------------------


def django_main(action: str, args: dict) -> dict:
    django_setup()
    if action == "run":
        seeded = seed(args["cases"])
        return {"seed": seeded, "views": measure(args["requests"])}
    raise SystemExit(f"unknown action {action}")


def seed(total: int) -> dict:
    """Bulk rows of two shops: `total` cases of the measured shop, a fifth as many of another."""
    import datetime as dt
    import random
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from merchant.models import Customer, Membership, Merchant, Order
    from returns.models import Case, CaseItem, SupportSettings

    started = time.perf_counter()
    rng = random.Random(8)
    now = timezone.now()
    User = get_user_model()
    kinds = list(CaseItem.Kind.values)
    made = {}
    for slug, count in (("queue", total), ("other", total // 5)):
        with transaction.atomic():
            shop = Merchant.objects.create(
                name=slug.title(), slug=slug, country="US", time_zone="America/New_York", currency="USD"
            )
            SupportSettings.objects.create(shop=shop)
            agents = []
            for n in range(5):
                user = User.objects.create_user(username=f"{slug}-agent-{n}", is_staff=True)
                Membership.objects.create(user=user, shop=shop, role=Membership.Role.AGENT)
                agents.append(user)
            customers = Customer.objects.bulk_create(
                [
                    Customer(shop=shop, external_id=f"c{n}", first_name=f"First{n}", last_name=f"Last{n}",
                             email=f"c{n}@{slug}.example", language="en", time_zone="America/New_York")
                    for n in range(max(1, count // 2))
                ],
                batch_size=2000,
            )  # fmt: skip
        for start in range(0, count, 5000):
            size = min(5000, count - start)
            with transaction.atomic():
                orders = Order.objects.bulk_create(
                    [
                        Order(shop=shop, customer=customers[(start + n) % len(customers)],
                              number=f"#{start + n + 1000}", status=Order.Status.DELIVERED, currency="USD",
                              subtotal=Decimal("80"), total=Decimal("80"), placed_at=now - dt.timedelta(days=10))
                        for n in range(size)
                    ],
                    batch_size=1000,
                )  # fmt: skip
                cases = []
                for n, order in enumerate(orders):
                    active = rng.random() < 0.3
                    due = now + dt.timedelta(minutes=rng.randint(-48 * 60, 120 * 60))
                    cases.append(
                        Case(
                            shop=shop, order=order, customer=order.customer, number=start + n + 1,
                            subject=f"Order {order.number}",
                            status=rng.choice(["new", "open", "open", "waiting_on_customer"]) if active else "resolved",
                            priority=rng.choice([10, 20, 20, 20, 30, 40]),
                            assignee=None if rng.random() < 0.2 else rng.choice(agents),
                            due_at=due if active else None,
                            first_response_due_at=due, resolution_due_at=due + dt.timedelta(days=3),
                            resolved_at=None if active else now - dt.timedelta(days=rng.randint(1, 300)),
                        )
                    )  # fmt: skip
                cases = Case.objects.bulk_create(cases, batch_size=1000)
                items = []
                for case in cases:
                    for kind in rng.sample(kinds, rng.choice([1, 1, 2])):
                        items.append(CaseItem(case=case, kind=kind, source=f"bench:{kind}:{case.pk}", summary=kind))
                CaseItem.objects.bulk_create(items, batch_size=2000)
        made[slug] = {
            "cases": Case.objects.filter(shop=shop).count(),
            "open": Case.objects.filter(shop=shop, status__in=Case.ACTIVE).count(),
            "items": CaseItem.objects.filter(case__shop=shop).count(),
        }
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics on both databases, as after any bulk load
    made["seconds"] = time.perf_counter() - started
    return made


def measure(requests: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from merchant.selectors import user_shop_roles
    from returns.selectors.queue import queue_counts

    user = get_user_model().objects.get(username="queue-agent-0")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    out = {}
    for view in VIEWS:
        path = f"/admin/returns/case/?view={view}"
        for _ in range(3):
            warm = client.get(path)
            if warm.status_code != 200:
                raise SystemExit(f"the {view} view answered {warm.status_code}")
        statements: list[tuple[str, tuple]] = []

        def record(execute, sql, params, many, context, statements=statements):
            statements.append((sql, tuple(params or ())))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            probe = client.get(path)
        rows = probe.content.decode().count('class="sq-row"')
        counts = queue_counts(user=user, shop_ids=list(user_shop_roles(user)), now=timezone.now())
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"the {view} view answered {response.status_code}")
        # Raw: the same statements with the same parameters on one cursor, fetched; no ORM, template or middleware.
        raw = []
        with connection.cursor() as cursor:
            for _ in range(3):
                for sql, params in statements:
                    cursor.execute(sql, params)
                    if cursor.description:
                        cursor.fetchall()
            for _ in range(requests):
                started = time.perf_counter()
                for sql, params in statements:
                    cursor.execute(sql, params)
                    if cursor.description:
                        cursor.fetchall()
                raw.append((time.perf_counter() - started) * 1000)
        out[view] = {
            "queries": len(statements),
            "rows": rows,
            "count": counts[view],
            "p50_ms": percentile(timings, 0.5),
            "p95_ms": percentile(timings, 0.95),
            "raw_p50_ms": percentile(raw, 0.5),
            "raw_p95_ms": percentile(raw, 0.95),
        }
    return out


# --- Orchestration ---------------------------------------------------------------------------------

helper = functools.partial(call_script, __file__)


def bench_database(kind: str, options) -> dict:
    with scratch_database("supportqueue", kind) as (tmp, database_url):
        env = base_env(tmp / "var", database_url)
        print(f"[{kind}] migrate …", flush=True)
        run([python_bin(), "manage.py", "migrate", "--noinput"], env, timeout=900)
        # The admin pages name their CSS through the manifest storage of production settings.
        run([python_bin(), "manage.py", "collectstatic", "--noinput"], env, timeout=600)
        print(f"[{kind}] {options.cases:,} cases, then {options.requests} GETs per view …", flush=True)
        result = helper("_django", "run", {"cases": options.cases, "requests": options.requests}, env, 3600)
        result["database"] = kind
        for view, figures in result["views"].items():
            print(
                f"[{kind}] {view:<10} {figures['count']:>7,} cases  {figures['queries']:>2} queries  "
                f"p50 {figures['p50_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms  "
                f"raw p95 {figures['raw_p95_ms']:6.1f} ms",
                flush=True,
            )
        return result


def table_rows(results: list[dict]) -> list[list]:
    rows = []
    for result in results:
        if "views" not in result:
            rows.append(
                [result["database"], "-", "-", "-", "-", "-", "-", "-", result.get("skipped") or result.get("crashed")]
            )
            continue
        for view, f in result["views"].items():
            ratio = f["p95_ms"] / f["raw_p95_ms"] if f["raw_p95_ms"] else None
            verdict = "met" if f["p95_ms"] < BUDGET_P95_MS else "MISSED"
            rows.append([
                result["database"], view, fmt(f["count"], group_ints=True), f["queries"], fmt(f["p50_ms"]),
                fmt(f["p95_ms"]), fmt(f["raw_p95_ms"], 2), f"{ratio:.1f}×" if ratio else "-", verdict,
            ])  # fmt: skip
    return rows


HEADER = [
    "database",
    "view",
    "cases in view",
    "queries",
    "p50 ms",
    "p95 ms",
    "raw SQL p95 ms",
    "ours ÷ raw",
    "p95 < 200 ms",
]


def markdown(results: list[dict], meta: dict) -> str:
    seeds = [
        f"- {r['database']}: {r['seed']['queue']['cases']:,} cases ({r['seed']['queue']['open']:,} open, "
        f"{r['seed']['queue']['items']:,} items) in the measured shop, {r['seed']['other']['cases']:,} in another"
        for r in results
        if "seed" in r
    ]
    return "\n".join(
        [
            "# Support queue views",
            "",
            f"Run {meta['started']} ({meta.get('cpus')} CPUs, {meta.get('cpu_model', '')}), `{meta['command']}`.",
            "Ours: the admin page in-process (middleware, ORM, template), logged in as an agent of the shop. "
            "Raw: the page's own statements with its parameters on one cursor, fetched.",
            "",
            *seeds,
            "",
            md_table(HEADER, table_rows(results)),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "both"), choices=["sqlite", "postgres", "both"])
    parser.add_argument("--cases", type=int, default=int(os.environ.get("BENCH_QUEUE_CASES", "100000")))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_QUEUE_REQUESTS", "40")))
    options = parser.parse_args()
    started = time.monotonic()
    results = bench_each_database(options.db, lambda kind: bench_database(kind, options))
    meta = {**run_meta(__file__, started), "code": app_code_fingerprint(APP_CODE_FILES), "budget_p95_ms": BUDGET_P95_MS}
    print(md_table(HEADER, table_rows(results)))
    write_results("support_queue", meta, results, markdown)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_django":
        import json

        print(json.dumps(django_main(sys.argv[2], json.loads(sys.argv[3])), default=str))
    else:
        main()

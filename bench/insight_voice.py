#!/usr/bin/env python
"""Benchmark: the dashboard's "Voice of the customer" page (/admin/insight/voice/) with 200,000 orders.

For each database (SQLite in a fresh temporary VAR_DIR; PostgreSQL in a fresh database `bench_voice_<pid>` on
postgres@127.0.0.1:5432, skipped with a message when it does not answer):

1. migrate; make a shop with 1,000 products and BENCH_VOICE_ORDERS orders (default 200,000) placed over the last
   365 days with 1–4 lines each, and what customers said about them: a review of about a third of the lines,
   an NPS answer for a quarter of the orders, returns of 8%, disputes of 0.8%, a support case for 15%; plus
   another shop with a fifth as much that the owner must never see (bulk inserts, no services). The page reads
   no messages, so none are made: the outbox's size does not change a single plan of this page;
2. GET the page in-process (django.test.Client, logged in as the owner, the whole middleware stack and the
   template) for the last 30 days, the last 90 days and the last 365 days, BENCH_VOICE_REQUESTS times each after
   a warm-up: p50/p95 and queries per page;
3. raw database figure: the statements the page ran, replayed on one plain cursor as many times, fetched;
4. on PostgreSQL, EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of the slowest period;
5. print a table, write bench/results/insight_voice.{json,md}, drop the database.

Budget (issue 9): p95 < 500 ms per dashboard view on PostgreSQL. Knobs: BENCH_DB (sqlite|postgres|both),
BENCH_VOICE_ORDERS, BENCH_VOICE_REQUESTS. A missed budget is printed, not raised. Usage:

    .venv/bin/python bench/insight_voice.py --db postgres
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
    busy_pct,
    call_script,
    django_setup,
    fmt,
    machine_busy,
    md_table,
    percentile,
    proc_cpu_s,
    python_bin,
    run,
    run_meta,
    scratch_database,
    write_results,
)

BUDGET_P95_MS = 500.0
PERIODS = {"30 days": 30, "90 days": 90, "365 days": 365}
APP_CODE_FILES = [
    "journeys/insight/voice.py",
    "journeys/insight/voice_page.py",
    "reviews/selectors/voice.py",
    "returns/selectors/voice.py",
    "templates/admin/insight/voice.html",
]


# --- Django helpers (a subprocess with the bench database's environment) --------------------------


def django_main(action: str, args: dict) -> dict:
    django_setup()
    if action == "run":
        seeded = seed(args["orders"])
        return {"seed": seeded, "periods": measure(args["requests"])}
    if action == "seed":
        return seed(args["orders"])
    if action == "measure":
        return measure(args["requests"])
    raise SystemExit(f"unknown action {action}")


def seed(total: int) -> dict:
    """Bulk rows of two shops: `total` orders of the measured shop and what was said about them, a fifth of it
    for another shop."""
    import datetime as dt
    import random
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from merchant.models import Customer, Membership, Merchant, Order, OrderLine, Product
    from returns.models import Case, Dispute, ReturnLine, ReturnReason, ReturnRequest, SupportSettings
    from reviews.models import NpsResponse, Review

    started = time.perf_counter()
    rng = random.Random(9)
    now = timezone.now()
    statuses = ["delivered"] * 17 + ["cancelled", "pending_payment", "refunded"]
    ratings = [1] * 8 + [2] * 6 + [3] * 10 + [4] * 26 + [5] * 50
    scores = [0, 2, 3, 4, 5, 6] * 4 + [7, 8] * 15 + [9, 10] * 23  # about 24% detractors, 46% promoters
    titles = ["", "", "Too small", "Fell apart", "Love it", "Great", "Not as pictured", "OK"]
    comments = ["", "", "", "Slow delivery", "Great service", "Arrived damaged", "Too expensive"]
    reasons = list(ReturnReason.values)
    categories = list(Dispute.ReasonCategory.values)
    made = {}
    for slug, count in (("voice", total), ("other", total // 5)):
        with transaction.atomic():
            shop = Merchant.objects.create(
                name=slug.title(), slug=slug, country="US", time_zone="America/New_York", currency="USD"
            )
            SupportSettings.objects.create(shop=shop)
            owner = get_user_model().objects.create_user(username=f"{slug}-owner", is_staff=True)
            Membership.objects.create(user=owner, shop=shop, role=Membership.Role.OWNER)
            products = Product.objects.bulk_create(
                [Product(shop=shop, external_id=f"p{n}", title=f"Product {n}") for n in range(1000)], batch_size=1000
            )
            # A few bestsellers, a long tail.
            weights = [1 / (n + 1) ** 0.8 for n in range(len(products))]
            customers = Customer.objects.bulk_create(
                [
                    Customer(shop=shop, external_id=f"c{n}", first_name=f"F{n}", last_name=f"L{n}",
                             email=f"c{n}@{slug}.example", language="en", time_zone="America/New_York")
                    for n in range(max(1, count // 4))
                ],
                batch_size=2000,
            )  # fmt: skip
        case_number = 0
        for start in range(0, count, 5000):
            size = min(5000, count - start)
            with transaction.atomic():
                orders = Order.objects.bulk_create(
                    [
                        Order(shop=shop, customer=customers[(start + n) % len(customers)], number=f"#{start + n}",
                              status=rng.choice(statuses), currency="USD", subtotal=Decimal("50"),
                              total=Decimal("50"), placed_at=now - dt.timedelta(minutes=rng.randint(0, 365 * 1440)))
                        for n in range(size)
                    ],
                    batch_size=1000,
                )  # fmt: skip
                lines = []
                for order in orders:
                    for product in rng.choices(products, weights, k=rng.choice([1, 1, 2, 3, 4])):
                        lines.append(OrderLine(order=order, product=product, title=product.title,
                                               quantity=rng.choice([1, 1, 1, 2, 3])))  # fmt: skip
                lines = OrderLine.objects.bulk_create(lines, batch_size=2000)
                by_order: dict[int, list[OrderLine]] = {}
                for line in lines:
                    by_order.setdefault(line.order_id, []).append(line)
                reviews, answers, requests, disputes, cases = [], [], [], [], []
                for order in orders:
                    later = order.placed_at + dt.timedelta(days=rng.randint(3, 30))
                    if later > now:
                        continue
                    for line in by_order[order.pk]:
                        if rng.random() < 0.33:
                            reviews.append(Review(shop=shop, product_id=line.product_id, order=order,
                                                  rating=rng.choice(ratings), title=rng.choice(titles),
                                                  status=rng.choice(["published"] * 9 + ["pending"]),
                                                  submitted_at=later))  # fmt: skip
                    if rng.random() < 0.25:
                        answers.append(NpsResponse(shop=shop, order=order, score=rng.choice(scores),
                                                   comment=rng.choice(comments), submitted_at=later))  # fmt: skip
                    if rng.random() < 0.08:
                        requests.append((ReturnRequest(shop=shop, order=order, number=f"R{order.pk}",
                                                       reason=rng.choice(reasons), currency="USD",
                                                       status=rng.choice(["requested", "resolved", "resolved",
                                                                          "cancelled"]),
                                                       created_at=later), by_order[order.pk][:2]))  # fmt: skip
                    if rng.random() < 0.008:
                        won = rng.random() < 0.5
                        disputes.append(Dispute(shop=shop, order=order, reason_category=rng.choice(categories),
                                                status="won" if won else "lost", opened_at=later,
                                                closed_at=later + dt.timedelta(days=40)))  # fmt: skip
                    if rng.random() < 0.15:
                        case_number += 1
                        first_due = later + dt.timedelta(hours=8)
                        cases.append(Case(shop=shop, order=order, number=case_number, subject=order.number,
                                          status="resolved", first_response_due_at=first_due,
                                          first_responded_at=first_due + dt.timedelta(hours=rng.randint(-7, 3)),
                                          resolution_due_at=later + dt.timedelta(days=5),
                                          resolved_at=later + dt.timedelta(days=rng.randint(1, 7))))  # fmt: skip
                Review.objects.bulk_create(reviews, batch_size=2000)
                NpsResponse.objects.bulk_create(answers, batch_size=2000)
                made_requests = ReturnRequest.objects.bulk_create([r for r, _lines in requests], batch_size=1000)
                ReturnLine.objects.bulk_create(
                    [
                        ReturnLine(return_request=request, order_line=line, quantity=1)
                        for request, (_r, order_lines) in zip(made_requests, requests, strict=True)
                        for line in order_lines
                    ],
                    batch_size=2000,
                )
                Dispute.objects.bulk_create(disputes, batch_size=1000)
                Case.objects.bulk_create(cases, batch_size=1000)
        made[slug] = {
            "orders": Order.objects.filter(shop=shop).count(),
            "lines": OrderLine.objects.filter(order__shop=shop).count(),
            "reviews": Review.objects.filter(shop=shop).count(),
            "nps": NpsResponse.objects.filter(shop=shop).count(),
            "returns": ReturnRequest.objects.filter(shop=shop).count(),
            "disputes": Dispute.objects.filter(shop=shop).count(),
            "cases": Case.objects.filter(shop=shop).count(),
        }
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as after any bulk load
    made["seconds"] = time.perf_counter() - started
    return made


def measure(requests: int) -> dict:
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    user = get_user_model().objects.get(username="voice-owner")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    out = {}
    from django.utils import timezone

    today = timezone.localdate(timezone=dt.timezone(dt.timedelta(hours=-5)))  # roughly New York, the shop's zone
    for label, days in PERIODS.items():
        query = {"start": (today - dt.timedelta(days=days - 1)).isoformat(), "end": today.isoformat()}
        path = "/admin/insight/voice/"
        for _ in range(3):
            warm = client.get(path, query)
            if warm.status_code != 200:
                raise SystemExit(f"the page answered {warm.status_code}")
        statements: list[tuple[str, tuple]] = []

        def record(execute, sql, params, many, context, statements=statements):
            statements.append((sql, tuple(params or ())))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            probe = client.get(path, query)
        if probe.status_code != 200:
            raise SystemExit(f"the page answered {probe.status_code}")
        ranked = len(client.get(path, {**query, "csv": "products"}).content.decode().splitlines()) - 1
        timings = []
        backend = connection.connection.info.backend_pid
        busy_before, cpu_before = machine_busy(), (proc_cpu_s(os.getpid()) or 0) + (proc_cpu_s(backend) or 0)
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path, query)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"the page answered {response.status_code}")
        cpu_after = (proc_cpu_s(os.getpid()) or 0) + (proc_cpu_s(backend) or 0)
        busy = busy_pct(busy_before, machine_busy())
        raw, per_statement = [], [0.0] * len(statements)
        with connection.cursor() as cursor:
            for _ in range(requests):
                started = time.perf_counter()
                for index, (sql, params) in enumerate(statements):
                    began = time.perf_counter()
                    cursor.execute(sql, params)
                    if cursor.description:
                        cursor.fetchall()
                    per_statement[index] += time.perf_counter() - began
                raw.append((time.perf_counter() - started) * 1000)
        slowest = max(range(len(statements)), key=per_statement.__getitem__)
        plan = ""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statements[slowest][0], statements[slowest][1])
                plan = "\n".join(row[0] for row in cursor.fetchall())
        out[label] = {
            "queries": len(statements),
            "ranked_products": ranked,
            # CPU of this process and its database backend per page (PostgreSQL's parallel workers not included):
            # what a page costs on an idle machine, whatever else the machine was doing meanwhile.
            "cpu_ms_per_page": (cpu_after - cpu_before) * 1000 / requests,
            "machine_busy_pct": busy,
            "load_average": os.getloadavg()[0],
            "p50_ms": percentile(timings, 0.5),
            "p95_ms": percentile(timings, 0.95),
            "raw_p50_ms": percentile(raw, 0.5),
            "raw_p95_ms": percentile(raw, 0.95),
            "slowest_statement": statements[slowest][0],
            "slowest_statement_ms": per_statement[slowest] * 1000 / max(1, requests),
            "slowest_plan": plan,
        }
    return out


# --- Orchestration ---------------------------------------------------------------------------------

helper = functools.partial(call_script, __file__)


def bench_database(kind: str, options) -> dict:
    with scratch_database("voice", kind) as (tmp, database_url):
        env = base_env(tmp / "var", database_url)
        print(f"[{kind}] migrate …", flush=True)
        run([python_bin(), "manage.py", "migrate", "--noinput"], env, timeout=900)
        run([python_bin(), "manage.py", "collectstatic", "--noinput"], env, timeout=600)
        print(f"[{kind}] {options.orders:,} orders, then {options.requests} GETs per period …", flush=True)
        result = helper("_django", "run", {"orders": options.orders, "requests": options.requests}, env, 3600)
        result["database"] = kind
        for label, figures in result["periods"].items():
            print(
                f"[{kind}] {label:<9} {figures['ranked_products']:>5} products  {figures['queries']:>2} queries  "
                f"p50 {figures['p50_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms  "
                f"raw p95 {figures['raw_p95_ms']:6.1f} ms",
                flush=True,
            )
        return result


HEADER = ["database", "period", "products ranked", "queries", "p50 ms", "p95 ms", "raw SQL p95 ms", "ours ÷ raw",
          "CPU ms per page", "machine busy", "p95 < 500 ms"]  # fmt: skip


def table_rows(results: list[dict]) -> list[list]:
    rows = []
    for result in results:
        if "periods" not in result:
            rows.append(
                [result["database"], "-", "-", "-", "-", "-", "-", "-", result.get("skipped") or result.get("crashed")]
            )
            continue
        for label, f in result["periods"].items():
            ratio = f["p95_ms"] / f["raw_p95_ms"] if f["raw_p95_ms"] else None
            rows.append([
                result["database"], label, f["ranked_products"], f["queries"], fmt(f["p50_ms"]), fmt(f["p95_ms"]),
                fmt(f["raw_p95_ms"], 2), f"{ratio:.1f}×" if ratio else "-", fmt(f["cpu_ms_per_page"]),
                f"{f['machine_busy_pct']:.0f}% (load {f['load_average']:.1f})" if f["machine_busy_pct"] else "-",
                "met" if f["p95_ms"] < BUDGET_P95_MS else "MISSED",
            ])  # fmt: skip
    return rows


def markdown(results: list[dict], meta: dict) -> str:
    seeds = [
        f"- {r['database']}: "
        + ", ".join(f"{value:,} {key}" for key, value in r["seed"]["voice"].items())
        + f" in the measured shop; {r['seed']['other']['orders']:,} orders in another"
        for r in results
        if "seed" in r
    ]
    plans = []
    for r in results:
        if r.get("database") != "postgres" or "periods" not in r:
            continue
        label, figures = max(r["periods"].items(), key=lambda item: item[1]["p95_ms"])
        plans += [
            f"## Slowest statement of the slowest period on PostgreSQL ({label}, "
            f"{figures['slowest_statement_ms']:.1f} ms on average)",
            "",
            "```sql",
            figures["slowest_statement"],
            "```",
            "",
            "```",
            figures["slowest_plan"],
            "```",
            "",
        ]
    return "\n".join(
        [
            "# Voice of the customer page",
            "",
            f"Run {meta['started']} ({meta.get('cpus')} CPUs, {meta.get('cpu_model', '')}), `{meta['command']}`.",
            "Ours: the admin page in-process (middleware, ORM, template), logged in as the shop's owner. "
            "Raw: the page's own statements with its parameters on one cursor, fetched.",
            "",
            *seeds,
            "",
            md_table(HEADER, table_rows(results)),
            "",
            *plans,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "both"), choices=["sqlite", "postgres", "both"])
    parser.add_argument("--orders", type=int, default=int(os.environ.get("BENCH_VOICE_ORDERS", "200000")))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_VOICE_REQUESTS", "30")))
    options = parser.parse_args()
    started = time.monotonic()
    results = bench_each_database(options.db, lambda kind: bench_database(kind, options))
    meta = {**run_meta(__file__, started), "code": app_code_fingerprint(APP_CODE_FILES), "budget_p95_ms": BUDGET_P95_MS}
    print(md_table(HEADER, table_rows(results)))
    write_results("insight_voice", meta, results, markdown)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_django":
        import json

        print(json.dumps(django_main(sys.argv[2], json.loads(sys.argv[3])), default=str))
    else:
        main()

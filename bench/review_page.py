#!/usr/bin/env python
"""Benchmark: the customer review page (GET /r/<token>) under 50 concurrent clients, against a running gunicorn.

For each database (SQLite in a fresh temporary VAR_DIR; PostgreSQL in a fresh database
`bench_reviewpage_<pid>` on postgres@127.0.0.1:5432, skipped with a message when it does not answer):

1. migrate and load the demo data (`manage.py seed_demo`: about 200 customers and 1,000 orders; the
   delivered ones have their review requests, as `make run` shows them);
2. pick a real review request of the demo shop (the open one with the most items) and make its link as
   a review request message would (`reviews.links.review_token`, same SECRET_KEY as the server);
3. probe one GET in-process (django.test.Client): queries, their SQL time, the whole time; record the
   statements it ran with their parameters;
4. start `gunicorn merchant.wsgi` on a free 127.0.0.1 port with production-like settings (DEBUG=false,
   random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, ENV_FILE=);
5. from a second process (standard library only: http.client + threads), C concurrent clients (default 50)
   send a warm-up and then N GETs of the review page, then the same of `/health` (the same server and
   middleware answering "ok" with no work: the raw HTTP figure); record latencies and statuses;
6. raw SQL: the statements the page ran (step 3), replayed on one plain database cursor, once per page,
   sequentially (the raw database figure for the same rows);
7. print a table, write bench/results/review_page.{json,md}, stop gunicorn, drop the database.

Budget (issue 7): p95 < 100 ms on SQLite with the demo data, 50 clients. Knobs (flags or environment): BENCH_DB
(sqlite|postgres|both), BENCH_REVIEW_REQUESTS, BENCH_REVIEW_CONCURRENCY. Exit status is non-zero only when the
benchmark itself crashes; a missed budget is printed as a verdict. Usage:

    .venv/bin/python bench/review_page.py --requests 2000 --concurrency 50 --db sqlite
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from benchkit import (
    LOOPBACK,
    ROOT,
    app_code_fingerprint,
    base_env,
    bench_each_database,
    busy_pct,
    call_script,
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

# Reads only: several single-threaded processes on SQLite (WAL readers never block each other), threads on
# PostgreSQL (connections stay warm). The same shapes as bench/webhook_ingest.py and docs/deploy.md.
SERVER_SHAPES = {
    "sqlite": {"workers": 4, "threads": 1, "worker_class": "sync"},
    "postgres": {"workers": 2, "threads": 4, "worker_class": "gthread"},
}
BUDGET_P95_MS = 100.0
REQUEST_TIMEOUT = 30.0
APP_CODE_FILES = [
    "reviews/views.py",
    "reviews/forms.py",
    "reviews/links.py",
    "reviews/page_sections.py",
    "reviews/selectors/page.py",
    "reviews/selectors/surveys.py",
    "templates/customer/review_page.html",
    "templates/customer/base.html",
    "merchant/settings.py",
]


# --- Client process (standard library only) ----------------------------------------------------


def client_main(config: dict) -> dict:
    """GET each path of `phases` warm-up + N times from C threads; return latencies (s), statuses, sizes."""
    host, port = config["host"], config["port"]
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit("loopback addresses only")

    def run_phase(path: str, count: int) -> dict:
        results: list[tuple[float, int, int] | None] = [None] * count
        cursor = iter(range(count))
        lock = threading.Lock()
        deadline = time.monotonic() + config["time_limit"]

        def worker():
            conn = None
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None or time.monotonic() > deadline:
                    break
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
                started = time.perf_counter()
                try:
                    conn.request("GET", path, headers={"Accept-Language": "en", "User-Agent": "bench/review_page"})
                    response = conn.getresponse()
                    body = response.read()
                    results[index] = (time.perf_counter() - started, response.status, len(body))
                    if response.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException):
                    results[index] = (time.perf_counter() - started, 0, 0)
                    if conn is not None:
                        conn.close()
                    conn = None
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(config["concurrency"])]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=config["time_limit"] + REQUEST_TIMEOUT + 5)
        wall = time.perf_counter() - started
        done = [result for result in results if result is not None]
        return {
            "wall_s": wall,
            "sent": len(done),
            "latencies_s": [result[0] for result in done],
            "statuses": [result[1] for result in done],
            "sizes": sorted({result[2] for result in done}),
        }

    out = {}
    for name, path in config["phases"]:
        run_phase(path, config["warmup"])
        out[name] = run_phase(path, config["requests"])
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["client_cpu_s"] = usage.ru_utime + usage.ru_stime
    return out


# --- Django helpers (a subprocess with the bench database's environment) --------------------------


def django_main(action: str, args: dict) -> dict:
    django_setup()
    if action == "setup":
        return setup()
    if action == "raw":
        return raw_sql(args)
    raise SystemExit(f"unknown action {action}")


def setup() -> dict:
    """The demo shop's open review request with the most items, its link, and one GET probed in-process."""
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from merchant.models import Merchant
    from reviews.links import review_token
    from reviews.models import Review, ReviewRequest

    shop = Merchant.objects.get(slug="demo")
    request = (
        ReviewRequest.objects.filter(shop=shop, status=ReviewRequest.Status.OPEN)
        .annotate(item_count=Count("items"))
        .order_by("-item_count", "id")
        .first()
    )
    if request is None:
        raise SystemExit("the demo data has no open review request")
    path = reverse("review-page", args=[review_token(request_id=request.pk, shop_id=shop.pk)])
    statements: list[tuple[str, list]] = []
    sql_seconds = [0.0]

    def record(execute, sql, params, many, context):
        statements.append((sql, list(params or [])))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds[0] += time.perf_counter() - started

    client = Client(HTTP_HOST=LOOPBACK)
    warm = client.get(path)
    if warm.status_code != 200:
        raise SystemExit(f"the review page answered {warm.status_code} in-process")
    samples = []
    for _ in range(20):
        statements.clear()
        sql_seconds[0] = 0.0
        with connection.execute_wrapper(record):
            started = time.perf_counter()
            response = client.get(path)
            total = time.perf_counter() - started
        samples.append((total, sql_seconds[0], len(statements), len(response.content)))
    counts = {
        "review_requests": ReviewRequest.objects.filter(shop=shop).count(),
        "reviews": Review.objects.filter(shop=shop).count(),
        "orders": shop.orders.count(),
        "customers": shop.customers.count(),
    }
    return {
        "path": path,
        "request_id": request.pk,
        "items": request.item_count,
        "order": request.order.number,
        "language": request.order.language or request.customer.language or shop.default_language,
        "demo": counts,
        "probe": {
            "queries": samples[-1][2],
            "ms_median": statistics.median(s[0] for s in samples) * 1000,
            "sql_ms_median": statistics.median(s[1] for s in samples) * 1000,
            "bytes": samples[-1][3],
        },
        "statements": statements,
        "vendor": connection.vendor,
    }


def raw_sql(args: dict) -> dict:
    """The page's own statements (with its parameters) on one plain cursor, all of them once per page, fetched."""
    from django.db import connection

    statements = [(sql, tuple(params)) for sql, params in args["statements"]]
    timings = []
    with connection.cursor() as cursor:
        for _ in range(args["warmup"]):
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
        started_all = time.perf_counter()
        for _ in range(args["pages"]):
            started = time.perf_counter()
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
            timings.append(time.perf_counter() - started)
        wall = time.perf_counter() - started_all
    ms = [t * 1000 for t in timings]
    return {
        "pages": args["pages"],
        "statements_per_page": len(statements),
        "pages_per_s": args["pages"] / wall if wall else None,
        "p50_ms": percentile(ms, 0.5),
        "p95_ms": percentile(ms, 0.95),
        "method": f"the page's {len(statements)} statements with its parameters, on one Django cursor "
        "(no ORM, no template), sequential, fetchall each",
    }


# --- Orchestration ---------------------------------------------------------------------------------

helper = functools.partial(call_script, __file__)


def figures(phase: dict) -> dict:
    ms = [value * 1000 for value in phase["latencies_s"]]
    ok = sum(1 for status in phase["statuses"] if status == 200)
    return {
        "requests": phase["sent"],
        "ok": ok,
        "errors": phase["sent"] - ok,
        "per_s": phase["sent"] / phase["wall_s"] if phase["wall_s"] else None,
        "p50_ms": percentile(ms, 0.5),
        "p95_ms": percentile(ms, 0.95),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms) if ms else None,
        "body_bytes": phase["sizes"],
    }


def bench_database(kind: str, options) -> dict:
    server = None
    result: dict = {"database": kind}
    with scratch_database("reviewpage", kind) as (tmp, database_url):
        try:
            env = base_env(tmp / "var", database_url, SECURE_HSTS_SECONDS="0")
            py = python_bin()
            print(f"[{kind}] migrate, seed_demo …", flush=True)
            run([py, "manage.py", "migrate", "--noinput"], env, timeout=600)
            run([py, "manage.py", "seed_demo"], env, timeout=1200)
            page = helper("_django", "setup", {}, env, 300)
            print(
                f"[{kind}] review request {page['request_id']} (order {page['order']}, {page['items']} items, "
                f"{page['language']}): {page['probe']['queries']} queries, "
                f"{page['probe']['ms_median']:.1f} ms in-process",
                flush=True,
            )
            port = free_port()
            log = tmp / "gunicorn.log"
            shape = {
                **SERVER_SHAPES[kind],
                **{k: v for k, v in vars(options).items() if k in SERVER_SHAPES[kind] and v},
            }
            command = [
                gunicorn_bin(), "merchant.wsgi:application", "--bind", f"{LOOPBACK}:{port}",
                "--workers", str(shape["workers"]), "--threads", str(shape["threads"]),
                "--worker-class", shape["worker_class"], "--backlog", "2048",
                "--timeout", "60", "--graceful-timeout", "10", "--keep-alive", "30",
                "--error-logfile", str(log), "--log-level", "warning",
            ]  # fmt: skip
            print(f"[{kind}] gunicorn {' '.join(command[2:])}", flush=True)
            with open(log, "ab") as log_file:
                server = subprocess.Popen(  # noqa: S603 - our own command line
                    command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
                )
            wait_until_up(port, server, log)
            config = {
                "host": LOOPBACK,
                "port": port,
                "phases": [["page", page["path"]], ["health", "/health"]],
                "requests": options.requests,
                "warmup": options.warmup,
                "concurrency": options.concurrency,
                "time_limit": options.time_limit,
            }
            print(
                f"[{kind}] {options.warmup} warm-up + {options.requests} GETs of the page, then of /health, "
                f"{options.concurrency} clients …",
                flush=True,
            )
            cpu_before, busy_before = process_group_cpu_s(server.pid), machine_busy()
            pg_before = postgres_cpu_s(reaped_children=False) if kind == "postgres" else None
            client = helper(
                "_client", "run", config, {"PATH": os.environ.get("PATH", "")}, options.time_limit * 4 + 120
            )
            cpu_after, busy_after = process_group_cpu_s(server.pid), machine_busy()
            pg_after = postgres_cpu_s(reaped_children=False) if kind == "postgres" else None
            stop_process(server)
            server = None
            raw = helper(
                "_django", "raw", {"statements": page["statements"], "pages": options.raw_pages, "warmup": 50}, env, 600
            )
            ours, health = figures(client["page"]), figures(client["health"])
            total = ours["requests"] + health["requests"]
            result.update(
                {
                    "page": {key: page[key] for key in ("request_id", "order", "items", "language", "demo", "probe")},
                    "server": shape,
                    "ours": ours,
                    "health": health,
                    "raw_sql": raw,
                    "ratio_rps_to_health": ours["per_s"] / health["per_s"] if health["per_s"] else None,
                    "ratio_p95_to_health": ours["p95_ms"] / health["p95_ms"] if health["p95_ms"] else None,
                    "ratio_rps_to_raw_sql": ours["per_s"] / raw["pages_per_s"] if raw["pages_per_s"] else None,
                    "server_cpu_ms_per_request": (cpu_after - cpu_before) * 1000 / total
                    if cpu_before is not None and cpu_after is not None and total
                    else None,
                    "postgres_cpu_ms_per_request": (pg_after - pg_before) * 1000 / total
                    if pg_before is not None and pg_after is not None and total
                    else None,
                    "client_cpu_s": client["client_cpu_s"],
                    "machine_cpu_busy_pct": busy_pct(busy_before, busy_after),
                    "budget": {
                        "p95_ms": BUDGET_P95_MS,
                        "met": ours["p95_ms"] < BUDGET_P95_MS and not ours["errors"],
                        "applies": kind == "sqlite",
                    },
                }
            )
            log_text = log.read_text() if log.exists() else ""
            result["gunicorn_log_tail"] = log_text[-2000:] if ("Traceback" in log_text or "ERROR" in log_text) else ""
            return result
        finally:
            stop_process(server)


def table(results: list[dict]) -> str:
    header = ["db", "page req/s", "p50 ms", "p95 ms", "errors", "/health req/s", "/health p95 ms", "page÷health req/s",
              "raw SQL pages/s", "raw SQL p95 ms", "page÷raw SQL", "queries", "budget p95<100 ms"]  # fmt: skip
    rows = []
    for r in results:
        if "skipped" in r or "crashed" in r:
            rows.append([r["database"], "skipped" if "skipped" in r else "crashed", *[""] * 10,
                         (r.get("skipped") or r.get("crashed"))[:60]])  # fmt: skip
            continue
        ours, health, raw = r["ours"], r["health"], r["raw_sql"]
        verdict = ("MET" if r["budget"]["met"] else "MISSED") + ("" if r["budget"]["applies"] else " (SQLite's budget)")
        rows.append(
            [
                r["database"], fmt(ours["per_s"]), fmt(ours["p50_ms"]), fmt(ours["p95_ms"]), ours["errors"],
                fmt(health["per_s"]), fmt(health["p95_ms"]), fmt(r["ratio_rps_to_health"], 2),
                fmt(raw["pages_per_s"]), fmt(raw["p95_ms"], 2), fmt(r["ratio_rps_to_raw_sql"], 3),
                r["page"]["probe"]["queries"], verdict,
            ]
        )  # fmt: skip
    return md_table(header, rows)


def markdown(results: list[dict], meta: dict) -> str:
    out = [
        "# Review page benchmark",
        "",
        f"- Run: {meta['started']} on {meta['cpus']} CPU(s) ({meta['cpu_model']}), Python {meta['python']}",
        f"- Command: `{meta['command']}`",
        f"- Application code measured: sha256 {meta['app_code']['sha256_12']} of the page's files, newest change "
        f"{meta['app_code']['newest_mtime']}",
        f"- Budget: p95 < {BUDGET_P95_MS:.0f} ms on SQLite with the demo data, "
        f"{meta['concurrency']} concurrent clients",
        f"- Load: a separate Python process on 127.0.0.1, {meta['concurrency']} threads (http.client), "
        f"{meta['warmup']} warm-up then {meta['requests']} GETs of one real review link of the demo data; then the "
        "same against /health (same server and middleware, no work): the raw HTTP figure",
        "- Raw SQL: the statements the page runs (recorded in-process, with their parameters) replayed on one "
        "plain cursor, once per page, sequentially: the raw database figure for the same rows",
        "",
        table(results),
        "",
    ]
    for r in results:
        if "ours" not in r:
            continue
        page, server = r["page"], r["server"]
        out += [
            f"## {r['database']}",
            "",
            f"- Page: review request {page['request_id']} (order {page['order']}, {page['items']} items, "
            f"language {page['language']}); demo shop {page['demo']}",
            f"- In-process: {page['probe']['queries']} queries, {page['probe']['ms_median']:.1f} ms per GET "
            f"(SQL {page['probe']['sql_ms_median']:.1f} ms), {page['probe']['bytes']} bytes",
            f"- gunicorn --workers {server['workers']} --threads {server['threads']} --worker-class "
            f"{server['worker_class']}; server CPU {fmt(r['server_cpu_ms_per_request'])} ms per request (page and "
            f"/health together), machine busy {fmt(r['machine_cpu_busy_pct'], 0)}%",
            f"- Page: {fmt(r['ours']['per_s'])} req/s, p50 {fmt(r['ours']['p50_ms'])} ms, p95 "
            f"{fmt(r['ours']['p95_ms'])} ms, p99 {fmt(r['ours']['p99_ms'])} ms, max {fmt(r['ours']['max_ms'])} ms, "
            f"{r['ours']['errors']} errors",
            f"- /health: {fmt(r['health']['per_s'])} req/s, p50 {fmt(r['health']['p50_ms'])} ms, p95 "
            f"{fmt(r['health']['p95_ms'])} ms",
            f"- Raw SQL: {r['raw_sql']['method']}: {fmt(r['raw_sql']['pages_per_s'])} pages/s, p50 "
            f"{fmt(r['raw_sql']['p50_ms'], 2)} ms, p95 {fmt(r['raw_sql']['p95_ms'], 2)} ms",
            "",
        ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REVIEW_REQUESTS", 2000)))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_REVIEW_CONCURRENCY", 50)))
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--raw-pages", type=int, default=2000, help="pages read by the raw SQL loop")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=os.environ.get("BENCH_DB", "both"))
    parser.add_argument("--workers", type=int, default=None, help="gunicorn worker processes (default per database)")
    parser.add_argument("--threads", type=int, default=None, help="threads per gunicorn worker (default per database)")
    parser.add_argument("--worker-class", default=None, help="gunicorn worker class (default per database)")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds allowed per phase")
    options = parser.parse_args()
    if options.requests < 1 or options.concurrency < 1 or options.warmup < 0:
        parser.error("--requests and --concurrency must be positive, --warmup not negative")
    started = time.monotonic()
    results = bench_each_database(options.db, lambda kind: bench_database(kind, options))
    meta = {
        **run_meta(__file__, started),
        "concurrency": options.concurrency,
        "requests": options.requests,
        "warmup": options.warmup,
        "budget": {"p95_ms": BUDGET_P95_MS},
        "app_code": app_code_fingerprint(APP_CODE_FILES),
    }
    print()
    print(f"Review page: {options.requests} GETs, {options.concurrency} clients; app code "
          f"{meta['app_code']['sha256_12']} (newest change {meta['app_code']['newest_mtime']})")  # fmt: skip
    print(table(results))
    for r in results:
        if r.get("gunicorn_log_tail"):
            print(f"[{r['database']}] gunicorn log tail:\n{r['gunicorn_log_tail']}")
    write_results("review_page", meta, results, markdown)
    return 1 if any("crashed" in r for r in results) else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "_client":
        print(json.dumps(client_main(json.loads(sys.argv[3]))))
    elif len(sys.argv) >= 4 and sys.argv[1] == "_django":
        print(json.dumps(django_main(sys.argv[2], json.loads(sys.argv[3])), default=str))
    else:
        sys.exit(main())

#!/usr/bin/env python
"""Benchmark: every dashboard page (journeys.insight.pages.insight_pages()) with 1,000,000 messages and 200,000 orders.

For each database (SQLite in a fresh temporary VAR_DIR; PostgreSQL in a fresh database `bench_dashboard_<pid>`
on postgres@127.0.0.1:5432, skipped with a message when it does not answer):

1. migrate; make the measured shop and BENCH_DASHBOARD_OTHER_SHOPS other shops through `merchant_create` (so
   each has the real default rule set of every app, on), then seed them with set-based SQL (INSERT … SELECT
   over generate_series, or a recursive CTE on SQLite; no ORM loop): customers, products, orders spread over
   the last 365 days at a realistic stage mix (paid ~92%, shipped ~88%, delivered ~84%, some cancelled and
   refunded; recent orders not yet as far), order lines, shipments, the orders' timelines, the outbox
   (messages of every care rule: SMS and email, five languages, scheduled / sent / delivered / opened /
   clicked / suppressed with reasons / failed / cancelled / expired, SMS segments), review requests and
   their items, reviews (ratings skewed to 5, some products worse than others), NPS answers, "needs
   attention" items, referral invitations and rewards, return requests with lines and reasons, refunds,
   disputes (won, lost, open), support cases with SLA times and their items. The other shops get
   BENCH_DASHBOARD_OTHER_SHARE of each size, so every tenancy filter has rows to leave out. On PostgreSQL the
   outbox is then put in the order its rows were planned (CLUSTER by shop, created_at), as the planner writes
   them. VACUUM ANALYZE (ANALYZE on SQLite), as autovacuum would after the inserts.
2. as an owner of the measured shop (staff, one Membership), GET each registered insight page in-process
   (django.test.Client: middleware, ORM, template) for the default period (last 30 days), the last 365 days,
   and its first table as CSV (`?csv=<name>`, found in the page's own download link): warm-up, then
   BENCH_DASHBOARD_REQUESTS GETs: p50 / p95 / max, queries per page;
3. raw database figure: the statements the page ran (recorded with their parameters), replayed on one plain
   cursor as many times, fetched (no ORM, no template, no middleware); ours ÷ raw;
4. the query plans of the slowest view: EXPLAIN (ANALYZE, BUFFERS) of each of its statements on PostgreSQL
   (EXPLAIN QUERY PLAN on SQLite), with each statement's own time, to bench/results/dashboard-plans.md;
5. print a table, write bench/results/dashboard.{json,md}, drop the database.

With no insight page registered (the pages are built on other branches) the bench registers its own probe
page (orders by status and messages by rule and status for the period, both ORM aggregates, as a page would
read them) so that the seeding, measuring and plans still run; the results say so. BENCH_DASHBOARD_PROBE=1
measures the probe beside the real pages.

Budget (issue 9): p95 < 500 ms for each dashboard view on PostgreSQL with 1,000,000 messages and 200,000
orders. Knobs (flags or environment): BENCH_DB (sqlite|postgres|both), BENCH_DASHBOARD_ORDERS (PostgreSQL
200,000; SQLite 50,000), BENCH_DASHBOARD_MESSAGES (5 per order), BENCH_DASHBOARD_OTHER_SHOPS (2),
BENCH_DASHBOARD_OTHER_SHARE (0.2), BENCH_DASHBOARD_REQUESTS (30), BENCH_DASHBOARD_SMOKE (2,000 orders,
10,000 messages, 5 requests; results go to dashboard-smoke.*), BENCH_DASHBOARD_KEEP=bench_<name> (PostgreSQL: seed
into that database and keep it, to try pages on the data). A missed budget is printed, not raised. Usage:

    .venv/bin/python bench/dashboard.py --db postgres
    BENCH_DASHBOARD_SMOKE=1 .venv/bin/python bench/dashboard.py
"""

# The seeding builds its SQL from constants, integers and model metadata; no outside input reaches it.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import unquote

from benchkit import (
    PG_ADMIN_URL,
    ROOT,
    BenchError,
    app_code_fingerprint,
    base_env,
    bench_each_database,
    django_setup,
    fmt,
    md_table,
    percentile,
    pg_admin,
    python_bin,
    run,
    run_meta,
    scratch_database,
    write_results,
)

BUDGET_P95_MS = 500.0
DEFAULT_ORDERS = {"postgres": 200_000, "sqlite": 50_000}
MESSAGES_PER_ORDER = 5
SMOKE = {"orders": 2_000, "messages": 10_000, "requests": 5}
MEASURED_SLUG = "bench-outdoor"
OWNER_USERNAME = "owner@bench-outdoor.example"
PROBE_PAGE = "insight_bench_probe"
APP_CODE_GLOBS = ["journeys/insight/**/*.py", "templates/admin/insight/**/*.html", "*/selectors/insight*.py"]

DAY = 86_400
HOUR = 3_600

# (share in %, country, language, zone, phone prefix) of a shop's customers.
LOCALES = [
    (45, "US", "en", "America/New_York", "+1212"),
    (5, "GB", "en", "Europe/London", "+4477"),
    (20, "DE", "de", "Europe/Berlin", "+49151"),
    (10, "RU", "ru", "Europe/Moscow", "+7915"),
    (10, "KR", "ko", "Asia/Seoul", "+8210"),
    (10, "CN", "zh-hans", "Asia/Shanghai", "+86139"),
]
CATEGORIES = ["shoes", "apparel", "accessories", "outdoor", "electronics", "home", "beauty", "gift cards"]
SHOPS = [  # the measured shop first
    {"name": "Bench Outdoor", "slug": MEASURED_SLUG, "country": "US", "time_zone": "America/New_York",
     "currency": "USD"},
    {"name": "Bench Tea", "slug": "bench-tea", "country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"},
    {"name": "Bench Seoul", "slug": "bench-seoul", "country": "KR", "time_zone": "Asia/Seoul", "currency": "KRW"},
    {"name": "Bench Books", "slug": "bench-books", "country": "GB", "time_zone": "Europe/London", "currency": "GBP"},
]  # fmt: skip

# Messages per order of each trigger: (the order's stage that plans it, share of those orders, seconds from
# that stage to the message's anchor). Delays come from the shop's rule. Triggers added later (not here) get
# OTHER_TRIGGER. Together about 5.1 messages per order; scaled to BENCH_DASHBOARD_MESSAGES.
TRIGGER_PLAN = {
    "unpaid_reminder": ("placed", 0.10, 0),
    "payment_confirmed": ("paid", 1.0, 0),
    "late_shipment": ("paid", 0.05, 2 * DAY),
    "shipped": ("shipped", 1.0, 0),
    "out_for_delivery": ("delivered", 0.95, -4 * HOUR),
    "delivered": ("delivered", 1.0, 0),
    "stuck_parcel": ("shipped", 0.02, DAY),
    "refund_processed": ("refunded", 1.0, 0),
    "review_request": ("delivered", 0.90, 7 * DAY),
    "review_reminder": ("delivered", 0.50, 14 * DAY),
    "review_follow_up": ("delivered", 0.04, 10 * DAY),
    "referral_invitation": ("delivered", 0.05, 9 * DAY),
    "return_requested": ("delivered", 0.04, 5 * DAY),
    "return_approved": ("delivered", 0.03, 6 * DAY),
    "return_declined": ("delivered", 0.003, 6 * DAY),
    "return_received": ("delivered", 0.025, 12 * DAY),
    "return_cancelled": ("delivered", 0.002, 8 * DAY),
    "return_expired": ("delivered", 0.002, 20 * DAY),
    "dispute_opened": ("paid", 0.004, 30 * DAY),
    "case_reply": ("placed", 0.08, 5 * DAY),
    "satisfaction_survey": ("placed", 0.04, 8 * DAY),
    "auto_reply": ("placed", 0.03, 3 * DAY),
}
OTHER_TRIGGER = ("shipped", 0.02, DAY)
STAGE_COLUMN = {"placed": "placed", "paid": "paid", "shipped": "shipped", "delivered": "delivered",
                "refunded": "refunded"}  # fmt: skip

SMS_COPY = (
    "Bench Outdoor: good news about your order. Follow it here: https://bench.example/s/Xk2pQ9vR "
    "Questions? Just reply. STOP to opt out. Order "
)
EMAIL_COPY = (
    "Hello,\n\nthank you for shopping with Bench Outdoor. Here is the latest about your order: it is on its way "
    "and we will tell you as soon as anything changes. You can follow every step on your order page, start a "
    "return there within 30 days of delivery, or write to us by answering this email; a person reads every "
    "answer within one business day.\n\nWhat you ordered, the delivery address and the payment are on the order "
    "page too. If something is not right, tell us and we will make it right.\n\nKind regards,\nThe Bench Outdoor "
    "team\n\nYou get this email because you ordered from Bench Outdoor. Order "
)
EMAIL_HTML = (
    '<!doctype html><html><body style="font-family:sans-serif;background:#f6f6f6;margin:0;padding:0">'
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">'
    '<table role="presentation" width="600" style="background:#fff;border-radius:8px;padding:24px">'
    + "".join(
        f'<tr><td style="padding:8px 0;color:#333;font-size:15px;line-height:1.5">{line}</td></tr>'
        for line in EMAIL_COPY.split("\n")
        if line
    )
    + '<tr><td><a href="https://bench.example/s/Xk2pQ9vR" style="display:inline-block;background:#1f6feb;'
    'color:#fff;padding:12px 20px;border-radius:6px;text-decoration:none">Your order page</a></td></tr>'
    "</table></td></tr></table></body></html><!-- order "
)


# --- Set-based SQL for both databases -----------------------------------------------------------------


def rnd(expr: str, salt: str, buckets: int) -> str:
    """SQL for a deterministic pseudo-random integer in [0, buckets) from an integer expression: a
    multiplicative hash (a multiplier per salt) followed by one LCG step, scaled by its high bits. The same
    text on PostgreSQL and SQLite (64-bit integer arithmetic, no overflow for expr below 2^32)."""
    multiplier = (zlib.crc32(salt.encode()) | 0x40000001) & 0x7FFFFFFF
    mixed = f"(((CAST({expr} AS BIGINT) * {multiplier}) %% 2147483648) * 1103515245 + 12345) %% 2147483648"
    return f"(({mixed}) * {int(buckets)} / 2147483648)"


def case_buckets(value: str, choices: list[tuple[int, str]]) -> str:
    """CASE mapping `value` (0..total) to the SQL of each choice by cumulative weights."""
    parts, edge = [], 0
    for weight, sql in choices[:-1]:
        edge += weight
        parts.append(f"WHEN {value} < {edge} THEN {sql}")
    return f"(CASE {' '.join(parts)} ELSE {choices[-1][1]} END)"


def quoted(text: str) -> str:
    """A string literal for a statement sent with parameters (so a % is written %%)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


class Dialect:
    def __init__(self, vendor: str):
        self.pg = vendor == "postgresql"

    def seq(self, count: int) -> tuple[str, str]:
        """(CTE prefix, FROM item) numbering rows n = 1..count."""
        if self.pg:
            return "", f"generate_series(1::bigint, {int(count)}::bigint) AS seq(n)"
        return f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {int(count)}) ", "seq"

    def ts(self, epoch: str) -> str:
        """A timestamp (UTC) from integer Unix seconds; NULL stays NULL."""
        return f"to_timestamp({epoch})" if self.pg else f"datetime({epoch}, 'unixepoch')"

    def pad(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(CAST({expr} AS TEXT), {width}, '0')"
        return f"substr('{'0' * width}' || ({expr}), -{width})"


class Seeder:
    """Writes a shop's rows with INSERT … SELECT statements, each in its own transaction.

    Columns a statement does not name get the model field's default (NULL when nullable), so a field added
    by a later migration does not break the bench; a new required field without a default is named in the
    error. The scratch tables bench_seed_* hold each order's plan (its stage times as Unix seconds) and the
    id maps; they are dropped at the end.
    """

    def __init__(self, *, now_epoch: int, log=print):
        from django.db import connection

        self.connection = connection
        self.d = Dialect(connection.vendor)
        self.T = now_epoch
        self.log = log
        self.steps: dict[str, float] = {}

    # plumbing

    def execute(self, sql: str, params: list | tuple = ()) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.rowcount

    def scalar(self, sql: str, params: list | tuple = ()):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchone()[0]

    def timed(self, step: str, work):
        started = time.perf_counter()
        result = work()
        took = time.perf_counter() - started
        self.steps[step] = self.steps.get(step, 0.0) + took
        return result

    def insert(self, model, values: dict[str, str], source: str, *, seq: int | None = None, with_sql: str = "",
               params: list | tuple = ()) -> int:  # fmt: skip
        """INSERT INTO model's table SELECT `values` (column -> SQL) FROM `source` ("{seq}" in it: the rows
        n = 1..seq). Returns the number of rows."""
        from django.db.models import AutoField, BigAutoField

        values = dict(values)
        columns, exprs, default_params = [], [], []
        for field in model._meta.concrete_fields:
            if isinstance(field, (AutoField, BigAutoField)):
                continue
            column = field.column
            if column in values:
                expr = values.pop(column)
            elif getattr(field, "auto_now", False) and "created_at" in columns:
                expr = exprs[columns.index("created_at")]
            elif field.null:
                expr = "NULL"
            elif field.has_default() or (field.blank and field.empty_strings_allowed):  # as the ORM: "" for blank text
                expr = "%s"
                default_params.append(field.get_db_prep_save(field.get_default(), self.connection))
            else:
                raise BenchError(f"bench/dashboard.py: {model.__name__}.{field.name} has no value and no default")
            columns.append(column)
            exprs.append(expr)
        if values:
            raise BenchError(f"bench/dashboard.py: {model.__name__} has no column(s) {sorted(values)}")
        prefix = with_sql
        if seq is not None:
            seq_prefix, seq_source = self.d.seq(seq)
            prefix, source = seq_prefix + with_sql, source.replace("{seq}", seq_source)
        sql = (
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) {prefix}SELECT {', '.join(exprs)} FROM {source}"
        )
        return self.execute(sql, [*default_params, *params])

    def scratch(self) -> None:
        big = "BIGINT"
        self.drop_scratch()
        self.execute(
            f"CREATE TABLE bench_seed_order (n {big} PRIMARY KEY, id {big}, customer_no {big}, customer_id {big}, "
            f"u INTEGER, lines INTEGER, placed {big}, paid {big}, shipped {big}, delivered {big}, cancelled {big}, "
            f"refunded {big}, status VARCHAR(20), subtotal {big})"
        )
        self.execute(
            f"CREATE TABLE bench_seed_line (n {big}, k INTEGER, product_no {big}, quantity INTEGER, cents {big}, "
            "PRIMARY KEY (n, k))"
        )
        self.execute(f"CREATE TABLE bench_seed_map (kind VARCHAR(10), k {big}, id {big}, PRIMARY KEY (kind, k))")
        self.execute("CREATE TABLE bench_seed_k (k INTEGER PRIMARY KEY)")
        self.execute("INSERT INTO bench_seed_k (k) " + " UNION ALL ".join(f"SELECT {k}" for k in range(1, 21)), [])

    def drop_scratch(self) -> None:
        for table in ("bench_seed_order", "bench_seed_line", "bench_seed_map", "bench_seed_k"):
            self.execute(f"DROP TABLE IF EXISTS {table}")

    # the shop

    def shop(self, spec: dict, sizes: dict, salt: str) -> dict:
        """Every row of one shop; returns what was made."""
        from journeys.models import CareRule
        from merchant.services.orders import orders_next_order_refresh
        from merchant.services.shops import merchant_create

        shop = self.timed("shops and rules", lambda: merchant_create(**spec, is_demo=True))
        rules = list(CareRule.objects.filter(shop=shop).order_by("id"))
        self.scratch()
        made = {"shop": shop.slug, "rules": len(rules)}
        s = shop.pk
        T = self.T
        d = self.d
        orders, customers, products = sizes["orders"], sizes["customers"], sizes["products"]

        def step(name, work):
            count = self.timed(name, work)
            made[name] = count
            self.log(f"    {shop.slug}: {name} {count:,} ({self.steps[name]:.1f} s so far)")
            return count

        # -- customers and products
        locale = rnd("seq.n", salt + "locale", 100)
        step("customers", lambda: self.insert(
            _model("merchant.Customer"),
            {
                "created_at": d.ts(f"{T - 400 * DAY} + seq.n * {(365 * DAY) // max(customers, 1)}"),
                "external_id": "'c' || seq.n", "first_name": "'Kim' || seq.n", "last_name": "'Bench'",
                "email": f"'c' || seq.n || '@{shop.slug}.example'",
                "phone": case_buckets(locale, [(w, f"'{p}' || {d.pad('seq.n', 7)}") for w, _c, _l, _z, p in LOCALES]),
                "country": case_buckets(locale, [(w, f"'{c}'") for w, c, _l, _z, _p in LOCALES]),
                "language": case_buckets(locale, [(w, f"'{lang}'") for w, _c, lang, _z, _p in LOCALES]),
                "time_zone": case_buckets(locale, [(w, f"'{z}'") for w, _c, _l, z, _p in LOCALES]),
                "time_zone_source": "'given'",
                "sms_marketing_consent_at": f"CASE WHEN {rnd('seq.n', salt + 'smsok', 100)} < 55 "
                                            f"THEN {d.ts(str(T - 300 * DAY))} END",
                "sms_marketing_consent_source": "'checkout'",
                "email_marketing_consent_at": f"CASE WHEN {rnd('seq.n', salt + 'mailok', 100)} < 70 "
                                              f"THEN {d.ts(str(T - 300 * DAY))} END",
                "email_marketing_consent_source": "'checkout'",
                "sms_opted_out_at": f"CASE WHEN {rnd('seq.n', salt + 'smsout', 100)} < 3 "
                                    f"THEN {d.ts(str(T - 30 * DAY))} END",
                "shop_id": str(s),
            },
            "{seq}", seq=customers,
        ))  # fmt: skip
        self.execute(
            "INSERT INTO bench_seed_map (kind, k, id) SELECT 'customer', CAST(substr(external_id, 2) AS BIGINT), id "
            "FROM merchant_customer WHERE shop_id = %s",
            [s],
        )
        step("products", lambda: self.insert(
            _model("merchant.Product"),
            {
                "created_at": d.ts(str(T - 420 * DAY)), "external_id": "'p' || seq.n",
                "title": case_buckets(f"(seq.n %% {len(CATEGORIES)})",
                                      [(1, f"'{c.title()} no. ' || seq.n") for c in CATEGORIES]),
                "sku": f"'SKU-' || {d.pad('seq.n', 5)}",
                "category": case_buckets(f"(seq.n %% {len(CATEGORIES)})", [(1, f"'{c}'") for c in CATEGORIES]),
                "shop_id": str(s),
            },
            "{seq}", seq=products,
        ))  # fmt: skip
        self.execute(
            "INSERT INTO bench_seed_map (kind, k, id) SELECT 'product', CAST(substr(external_id, 2) AS BIGINT), id "
            "FROM merchant_product WHERE shop_id = %s",
            [s],
        )

        # -- the orders' plan: customer, stage times (Unix seconds), status, lines and totals
        def plan_orders():
            # The first `customers` orders are each customer's first; the rest are repeat orders.
            self.execute(
                "INSERT INTO bench_seed_order (n, customer_no, u, lines, placed) "
                f"{d.seq(orders)[0]}SELECT seq.n, "
                f"CASE WHEN seq.n <= {customers} THEN seq.n ELSE 1 + {rnd('seq.n', salt + 'cust', customers)} END, "
                f"{rnd('seq.n', salt + 'stage', 1000)}, "
                f"1 + CASE WHEN {rnd('seq.n', salt + 'l2', 100)} < 40 THEN 1 ELSE 0 END "
                f"+ CASE WHEN {rnd('seq.n', salt + 'l3', 100)} < 20 THEN 1 ELSE 0 END, "
                f"{T} - {rnd('seq.n', salt + 'age', 365 * DAY)} FROM {d.seq(orders)[1]}",
            )
            # paid ~92% (within two hours, some after a day), shipped ~88% (0.5-3 days later), delivered ~84%
            # (2-6 days later); a stage not reached by now is not reached yet.
            self.execute(
                f"UPDATE bench_seed_order SET paid = CASE WHEN u >= 80 THEN placed + 60 + "
                f"CASE WHEN {rnd('n', salt + 'late', 100)} < 6 THEN {DAY} ELSE 0 END "
                f"+ {rnd('n', salt + 'payd', 2 * HOUR)} END"
            )
            self.execute(
                f"UPDATE bench_seed_order SET shipped = CASE WHEN u >= 120 THEN paid + {DAY // 2} "
                f"+ {rnd('n', salt + 'shipd', 5 * DAY // 2)} END"
            )
            self.execute(
                f"UPDATE bench_seed_order SET delivered = CASE WHEN u >= 160 THEN shipped + {2 * DAY} "
                f"+ {rnd('n', salt + 'deld', 4 * DAY)} END"
            )
            self.execute(f"UPDATE bench_seed_order SET paid = NULL, shipped = NULL, delivered = NULL WHERE paid > {T}")
            self.execute(f"UPDATE bench_seed_order SET shipped = NULL, delivered = NULL WHERE shipped > {T}")
            self.execute(f"UPDATE bench_seed_order SET delivered = NULL WHERE delivered > {T}")
            # Cancelled unpaid (3%), cancelled and refunded after payment (2% of orders, before shipping),
            # refunded (1.5%) or partly refunded (1.5%) after delivery.
            self.execute(
                f"UPDATE bench_seed_order SET cancelled = CASE "
                f"WHEN u < 30 THEN placed + {DAY} + {rnd('n', salt + 'cand', 2 * DAY)} "
                f"WHEN u >= 80 AND u < 100 AND paid IS NOT NULL AND shipped IS NULL THEN paid + {DAY // 2} END"
            )
            self.execute(f"UPDATE bench_seed_order SET cancelled = NULL WHERE cancelled > {T}")
            self.execute(
                f"UPDATE bench_seed_order SET refunded = CASE "
                f"WHEN cancelled IS NOT NULL AND paid IS NOT NULL THEN cancelled "
                f"WHEN u >= 970 AND delivered IS NOT NULL THEN delivered + {10 * DAY} END"
            )
            self.execute(f"UPDATE bench_seed_order SET refunded = NULL WHERE refunded > {T}")
            self.execute(
                "UPDATE bench_seed_order SET status = CASE "
                "WHEN refunded IS NOT NULL AND cancelled IS NULL AND u < 985 THEN 'partially_refunded' "
                "WHEN refunded IS NOT NULL THEN 'refunded' "
                "WHEN cancelled IS NOT NULL THEN 'cancelled' "
                "WHEN delivered IS NOT NULL THEN 'delivered' "
                "WHEN shipped IS NOT NULL THEN 'shipped' "
                "WHEN paid IS NOT NULL THEN 'paid' ELSE 'pending_payment' END"
            )
            # Lines: popular products sell more (quadratic skew); prices 5-205, quantity 1 or 2.
            self.execute(
                "INSERT INTO bench_seed_line (n, k, product_no, quantity, cents) "
                f"SELECT o.n, k.k, 1 + ({rnd('o.n * 4 + k.k', salt + 'prod', products)} "
                f"* {rnd('o.n * 4 + k.k', salt + 'prod2', products)}) / {products}, "
                f"CASE WHEN {rnd('o.n * 4 + k.k', salt + 'qty', 10)} = 0 THEN 2 ELSE 1 END, 0 "
                "FROM bench_seed_order o JOIN bench_seed_k k ON k.k <= o.lines",
            )
            self.execute("UPDATE bench_seed_line SET cents = 500 + (product_no * 7919) %% 20000", [])
            self.execute(
                "UPDATE bench_seed_order SET subtotal = (SELECT SUM(l.cents * l.quantity) FROM bench_seed_line l "
                "WHERE l.n = bench_seed_order.n)"
            )
            self.execute(
                "UPDATE bench_seed_order SET customer_id = m.id FROM bench_seed_map m "
                "WHERE m.kind = 'customer' AND m.k = bench_seed_order.customer_no"
            )
            if d.pg:
                self.execute("ANALYZE bench_seed_order")
                self.execute("ANALYZE bench_seed_line")
            return orders

        self.timed("orders", plan_orders)
        o = "bench_seed_order o"
        lang_of = case_buckets(rnd("o.customer_no", salt + "locale", 100),
                               [(w, f"'{lang}'") for w, _c, lang, _z, _p in LOCALES])  # fmt: skip
        latest = "COALESCE(o.refunded, o.cancelled, o.delivered, o.shipped, o.paid, o.placed)"
        shipping = "CASE WHEN o.subtotal >= 5000 THEN 0 ELSE 495 END"
        step("orders", lambda: self.insert(
            _model("merchant.Order"),
            {
                "created_at": d.ts("o.placed"), "updated_at": d.ts(latest), "external_id": "'o' || o.n",
                "number": "'#' || (1000 + o.n)", "status": "o.status", "status_changed_at": d.ts(latest),
                "placed_at": d.ts("o.placed"), "paid_at": d.ts("o.paid"), "ship_by": d.ts(f"o.paid + {2 * DAY}"),
                "shipped_at": d.ts("o.shipped"), "delivered_at": d.ts("o.delivered"),
                "cancelled_at": d.ts("o.cancelled"), "refunded_at": d.ts("o.refunded"),
                "currency": f"'{shop.currency}'", "subtotal": "o.subtotal / 100.0",
                "shipping_total": f"{shipping} / 100.0", "tax_total": "0", "discount_total": "0",
                "total": f"(o.subtotal + {shipping}) / 100.0",
                "refunded_total": f"CASE WHEN o.status = 'refunded' THEN (o.subtotal + {shipping}) / 100.0 "
                                  f"WHEN o.status = 'partially_refunded' THEN o.subtotal / 200.0 ELSE 0 END",
                "source_platform": "'shopify'", "language": lang_of, "customer_id": "o.customer_id",
                "shop_id": str(s),
            },
            o,
        ))  # fmt: skip
        self.execute(
            "UPDATE bench_seed_order SET id = m.id FROM merchant_order m "
            "WHERE m.shop_id = %s AND m.external_id = 'o' || bench_seed_order.n",
            [s],
        )
        self.execute("CREATE UNIQUE INDEX bench_seed_order_id ON bench_seed_order (id)")
        # What the order services keep on each order as it is created or cancelled: the customer's next order.
        self.timed("orders' next orders", lambda: orders_next_order_refresh(shop_id=s))
        if d.pg:
            self.execute("ANALYZE bench_seed_order")
            self.execute("ANALYZE bench_seed_map")
        step("order_lines", lambda: self.insert(
            _model("merchant.OrderLine"),
            {
                "created_at": d.ts("o.placed"), "external_id": "'l' || o.n || '.' || l.k", "title": "p.title",
                "sku": "p.sku", "quantity": "l.quantity", "unit_price": "l.cents / 100.0",
                "total": "l.cents * l.quantity / 100.0", "order_id": "o.id", "product_id": "p.id",
            },
            "bench_seed_line l JOIN bench_seed_order o ON o.n = l.n "
            "JOIN bench_seed_map pm ON pm.kind = 'product' AND pm.k = l.product_no "
            "JOIN merchant_product p ON p.id = pm.id",
        ))  # fmt: skip
        step("shipments", lambda: self.insert(
            _model("merchant.Shipment"),
            {
                "created_at": d.ts("o.shipped"), "updated_at": d.ts("COALESCE(o.delivered, o.shipped)"),
                "external_id": "'s' || o.n",
                "carrier": case_buckets(rnd("o.n", salt + "carrier", 4), [(1, "'UPS'"), (1, "'DHL'"), (1, "'USPS'"),
                                                                        (1, "'FedEx'")]),
                "tracking_number": f"'1Z' || {d.pad('o.n', 10)}",
                "tracking_url": f"'https://track.example/1Z' || {d.pad('o.n', 10)}",
                "status": f"CASE WHEN o.delivered IS NOT NULL THEN 'delivered' "
                          f"WHEN o.shipped < {T - 8 * DAY} THEN 'failure' "
                          f"WHEN o.shipped > {T - DAY} THEN 'label_created' ELSE 'in_transit' END",
                "shipped_at": d.ts("o.shipped"),
                "last_carrier_event_at": d.ts(f"COALESCE(o.delivered, o.shipped + {DAY // 2})"),
                "delivered_at": d.ts("o.delivered"), "order_id": "o.id",
            },
            f"{o} WHERE o.shipped IS NOT NULL",
        ))  # fmt: skip
        made["order_events"] = 0
        for kind, column, before, after in [
            ("created", "placed", "''", "'pending_payment'"),
            ("paid", "paid", "'pending_payment'", "'paid'"),
            ("shipped", "shipped", "'paid'", "'shipped'"),
            ("delivered", "delivered", "'shipped'", "'delivered'"),
            ("cancelled", "cancelled", "'pending_payment'", "'cancelled'"),
            ("refunded", "refunded", "'delivered'", "o.status"),
        ]:
            made["order_events"] += self.timed("order_events", lambda kind=kind, column=column, before=before,
                                               after=after: self.insert(
                _model("merchant.OrderEvent"),
                {
                    "type": "o.status" if kind == "refunded" else f"'{kind}'", "from_status": before,
                    "to_status": after, "outcome": "'applied'", "actor_kind": "'webhook'", "actor_label": "''",
                    "source": "'shopify'", "occurred_at": d.ts(f"o.{column}"), "created_at": d.ts(f"o.{column}"),
                    "order_id": "o.id",
                },
                f"{o} WHERE o.{column} IS NOT NULL",
            ))  # fmt: skip
        self.log(f"    {shop.slug}: order_events {made['order_events']:,} ({self.steps['order_events']:.1f} s)")

        # -- the outbox: every rule's messages over the orders at its stage
        made["messages"] = self.timed("messages", lambda: self.messages(shop, rules, sizes["messages"], salt))
        self.log(f"    {shop.slug}: messages {made['messages']:,} ({self.steps['messages']:.1f} s)")

        # -- feedback: review requests (one per delivered order), items, reviews, NPS, attention, referrals
        review_due = f"o.delivered + {7 * DAY}"
        reviewable = self.scalar(
            f"SELECT COUNT(*) FROM bench_seed_order o WHERE o.delivered IS NOT NULL AND {review_due} + {5 * DAY} <= {T}"
        )
        review_ppm = min(1_000_000, sizes["reviews"] * 1_000_000 // max(reviewable, 1))
        answered = f"{review_due} + {rnd('o.n', salt + 'revwhen', 5 * DAY)}"
        is_reviewed = f"({review_due} + {5 * DAY} <= {T} AND {rnd('o.n', salt + 'rev', 1_000_000)} < {review_ppm})"
        request_status = (
            f"CASE WHEN {is_reviewed} THEN 'reviewed' WHEN o.status IN ('refunded', 'partially_refunded') "
            f"THEN 'cancelled' WHEN {rnd('o.n', salt + 'skip', 100)} < 5 THEN 'skipped' ELSE 'open' END"
        )
        step("review_requests", lambda: self.insert(
            _model("reviews.ReviewRequest"),
            {
                "created_at": d.ts("o.delivered"), "updated_at": d.ts(f"CASE WHEN {is_reviewed} THEN {answered} "
                                                                      f"ELSE o.delivered END"),
                "group_days": "7", "due_at": d.ts(review_due), "status": request_status,
                "reminders_planned": "1", "reviewed_at": d.ts(f"CASE WHEN {is_reviewed} THEN {answered} END"),
                "cancelled_at": d.ts("CASE WHEN o.status IN ('refunded', 'partially_refunded') THEN o.refunded END"),
                "customer_id": "o.customer_id", "order_id": "o.id", "shop_id": str(s),
            },
            f"{o} WHERE o.delivered IS NOT NULL",
        ))  # fmt: skip
        step("review_request_items", lambda: self.insert(
            _model("reviews.ReviewRequestItem"),
            {"title": "ol.title", "order_line_id": "ol.id", "product_id": "ol.product_id", "request_id": "rr.id"},
            "reviews_reviewrequest rr JOIN merchant_orderline ol ON ol.order_id = rr.order_id WHERE rr.shop_id = %s",
            params=[s],
        ))  # fmt: skip
        # A product whose number is a multiple of 17 is a worse product: lower ratings, more returns.
        bad = "(l.product_no %% 17 = 0)"
        rating = case_buckets(
            f"({rnd('o.n', salt + 'stars', 100)} + CASE WHEN {bad} THEN 45 ELSE 0 END)",
            [(60, "5"), (20, "4"), (8, "3"), (5, "2"), (1000, "1")],
        )
        step("reviews", lambda: self.insert(
            _model("reviews.Review"),
            {
                "created_at": "rr.reviewed_at", "updated_at": "rr.reviewed_at", "product_title": "ol.title",
                "rating": rating, "title": "'Review of ' || ol.title",
                "text": "'Bought it for the summer. ' || ol.title || ' does what it says; delivery was quick.'",
                "language": lang_of,
                "status": case_buckets(rnd("o.n", salt + "revstat", 100), [(3, "'pending'"), (1, "'hidden'"),
                                                                          (96, "'published'")]),
                "flags": "'[]'", "source": "'review_request'", "submitted_at": "rr.reviewed_at",
                "published_at": "rr.reviewed_at",
                "hidden_reason": case_buckets(rnd("o.n", salt + "revstat", 100), [(3, "''"), (1, "'spam'"),
                                                                                 (96, "''")]),
                "customer_id": "o.customer_id", "order_id": "o.id", "product_id": "ol.product_id", "shop_id": str(s),
                "request_id": "rr.id", "item_id": "it.id",
            },
            "reviews_reviewrequest rr JOIN bench_seed_order o ON o.id = rr.order_id "
            "JOIN bench_seed_line l ON l.n = o.n AND l.k = 1 "
            "JOIN merchant_orderline ol ON ol.order_id = o.id AND ol.external_id = 'l' || o.n || '.1' "
            "JOIN reviews_reviewrequestitem it ON it.request_id = rr.id AND it.order_line_id = ol.id "
            "WHERE rr.shop_id = %s AND rr.status = 'reviewed'",
            params=[s],
        ))  # fmt: skip
        nps_ppm = min(1_000_000, sizes["nps"] * 1_000_000 // max(reviewable, 1))
        score = case_buckets(rnd("o.n", salt + "score", 100), [
            (35, "10"), (20, "9"), (12, "8"), (13, "7"), (6, "6"), (4, "5"), (3, "4"), (2, "3"), (2, "2"), (1, "1"),
            (2, "0"),
        ])  # fmt: skip
        step("nps", lambda: self.insert(
            _model("reviews.NpsResponse"),
            {
                "created_at": d.ts(f"{review_due} + {DAY}"), "score": score,
                "comment": f"CASE WHEN {rnd('o.n', salt + 'npsc', 100)} < 40 THEN CASE WHEN {score} <= 6 "
                           f"THEN 'Parcel came late and nobody answered my email.' "
                           f"ELSE 'Great service, will buy again.' END ELSE '' END",
                "language": lang_of, "submitted_at": d.ts(f"{review_due} + {DAY}"), "customer_id": "o.customer_id",
                "order_id": "o.id", "shop_id": str(s), "request_id": "rr.id",
            },
            "reviews_reviewrequest rr JOIN bench_seed_order o ON o.id = rr.order_id "
            f"WHERE rr.shop_id = %s AND {review_due} + {5 * DAY} <= {T} "
            f"AND {rnd('o.n', salt + 'nps', 1_000_000)} < {nps_ppm}",
            params=[s],
        ))  # fmt: skip
        attention_status = case_buckets(rnd("x.id", salt + "att", 100), [(10, "'open'"), (30, "'handed_over'"),
                                                                        (60, "'resolved'")])  # fmt: skip
        for kind, source, link in [
            ("low_rating", "reviews_review x WHERE x.shop_id = %s AND x.rating <= 2", "review_id"),
            ("detractor", "reviews_npsresponse x WHERE x.shop_id = %s AND x.score <= 6", "nps_id"),
        ]:
            made[f"attention_{kind}"] = self.timed("attention", lambda kind=kind, source=source, link=link: self.insert(
                _model("reviews.AttentionItem"),
                {
                    "created_at": "x.created_at", "kind": f"'{kind}'", "status": attention_status, link: "x.id",
                    "customer_id": "x.customer_id", "order_id": "x.order_id", "summary": f"'Unhappy customer ({kind})'",
                    "due_at": "x.created_at",
                    "resolved_at": f"CASE WHEN {attention_status} = 'resolved' THEN x.created_at END",
                    "handed_over_at": f"CASE WHEN {attention_status} = 'handed_over' THEN x.created_at END",
                    "shop_id": str(s),
                },
                source, params=[s],
            ))  # fmt: skip
        step("referral_invitations", lambda: self.insert(
            _model("reviews.ReferralInvitation"),
            {
                "created_at": "r.submitted_at", "code": "'REF' || r.customer_id", "reason": "'review'",
                "customer_id": "r.customer_id", "review_id": "r.id", "shop_id": str(s),
            },
            "reviews_review r JOIN (SELECT customer_id, MIN(id) AS first_id FROM reviews_review "
            "WHERE shop_id = %s AND rating >= 4 AND customer_id IS NOT NULL GROUP BY customer_id) f "
            f"ON f.first_id = r.id WHERE {rnd('r.customer_id', salt + 'inv', 100)} < 25",
            params=[s],
        ))  # fmt: skip
        invitations = self.scalar("SELECT COUNT(*) FROM reviews_referralinvitation WHERE shop_id = %s", [s])
        if invitations:
            step("referral_rewards", lambda: self.insert(
                _model("reviews.ReferralReward"),
                {
                    "created_at": d.ts("f.placed"), "code": "i.code", "reward": "'10 credit'",
                    "status": case_buckets(rnd("f.n", salt + "rew", 100), [(50, "'given'"), (10, "'cancelled'"),
                                                                          (40, "'recorded'")]),
                    "status_changed_at": d.ts("f.placed"), "invitation_id": "i.id", "order_id": "f.id",
                    "referred_customer_id": "f.customer_id", "referrer_id": "i.customer_id", "shop_id": str(s),
                },
                "(SELECT o.n, o.id, o.customer_id, o.placed, ROW_NUMBER() OVER (ORDER BY o.n) AS rk "
                f" FROM {o} WHERE o.n <= {customers} AND {rnd('o.n', salt + 'refd', 1000)} < 20) f "
                "JOIN (SELECT id, customer_id, code, ROW_NUMBER() OVER (ORDER BY id) AS rk "
                " FROM reviews_referralinvitation WHERE shop_id = %s) i "
                f"ON i.rk = (f.rk - 1) %% {invitations} + 1 WHERE i.customer_id <> f.customer_id",
                params=[s],
            ))  # fmt: skip

        # -- returns (one per chosen delivered order, its first line and sometimes its second), refunds
        returnable = self.scalar(  # worse products are returned three times as often
            f"SELECT SUM(CASE WHEN {bad} THEN 3 ELSE 1 END) FROM {o} JOIN bench_seed_line l ON l.n = o.n AND l.k = 1 "
            f"WHERE o.delivered IS NOT NULL AND o.delivered + {13 * DAY} <= {T}"
        )
        return_ppm = min(1_000_000, sizes["returns"] * 1_000_000 // max(returnable, 1))
        opened = f"(o.delivered + {3 * DAY} + {rnd('o.n', salt + 'retwhen', 10 * DAY)})"
        return_status = case_buckets(rnd("o.n", salt + "retstat", 100), [
            (50, "'resolved'"), (8, "'requested'"), (5, "'needs_review'"), (10, "'approved'"), (7, "'in_transit'"),
            (5, "'received'"), (7, "'declined'"), (4, "'cancelled'"), (4, "'expired'"),
        ])  # fmt: skip
        return_reason = case_buckets(
            f"({rnd('o.n', salt + 'retwhy', 100)} + CASE WHEN {bad} THEN 60 ELSE 0 END) %% 160",
            [(15, "'too_small'"), (12, "'too_large'"), (25, "'changed_mind'"), (10, "'wrong_item'"),
             (8, "'other'"), (15, "'damaged'"), (75, "'not_as_described'")],
        )  # fmt: skip
        closed = (
            f"CASE WHEN {return_status} IN ('resolved', 'declined', 'cancelled', 'expired') "
            f"THEN {opened} + {8 * DAY} END"
        )
        step("return_requests", lambda: self.insert(
            _model("returns.ReturnRequest"),
            {
                "created_at": d.ts(opened), "updated_at": d.ts(f"COALESCE({closed}, {opened})"),
                "number": "'R' || (1000 + o.n)", "status": return_status,
                "status_changed_at": d.ts(f"COALESCE({closed}, {opened})"), "reason": return_reason,
                "comment": "''", "refund_method": "'original_payment'",
                "window_ends_at": d.ts(f"o.delivered + {30 * DAY}"), "review_reasons": "'[]'",
                "decline_code": f"CASE WHEN {return_status} = 'declined' THEN 'window_ended' ELSE '' END",
                "estimated_refund": "l.cents * l.quantity / 100.0", "restocking_fee": "0",
                "currency": f"'{shop.currency}'",
                "approved_at": d.ts(f"CASE WHEN {return_status} NOT IN ('requested', 'needs_review', 'declined') "
                                    f"THEN {opened} + {DAY} END"),
                "closed_at": d.ts(closed), "customer_id": "o.customer_id", "order_id": "o.id", "shop_id": str(s),
            },
            f"{o} JOIN bench_seed_line l ON l.n = o.n AND l.k = 1 WHERE o.delivered IS NOT NULL "
            f"AND o.delivered + {13 * DAY} <= {T} "
            f"AND {rnd('o.n', salt + 'ret', 1_000_000)} < {return_ppm} * CASE WHEN {bad} THEN 3 ELSE 1 END",
        ))  # fmt: skip
        step("return_lines", lambda: self.insert(
            _model("returns.ReturnLine"),
            {
                "quantity": "ol.quantity", "reason": "rr.reason",
                "disposition": "CASE WHEN rr.status = 'resolved' THEN 'accept' ELSE 'pending' END",
                "accepted_quantity": "CASE WHEN rr.status = 'resolved' THEN ol.quantity ELSE 0 END",
                "credit_amount": "CASE WHEN rr.status = 'resolved' THEN ol.total ELSE 0 END",
                "restock": "CASE WHEN rr.status = 'resolved' THEN TRUE ELSE FALSE END", "inspection_note": "''",
                "order_line_id": "ol.id", "return_request_id": "rr.id",
            },
            "returns_returnrequest rr JOIN bench_seed_order o ON o.id = rr.order_id "
            "JOIN merchant_orderline ol ON ol.order_id = o.id WHERE rr.shop_id = %s AND (ol.external_id = "
            f"'l' || o.n || '.1' OR (ol.external_id = 'l' || o.n || '.2' AND {rnd('o.n', salt + 'ret2', 100)} < 30))",
            params=[s],
        ))  # fmt: skip
        step("refunds", lambda: self.insert(
            _model("returns.Refund"),
            {
                "created_at": "rr.closed_at", "status": "'succeeded'", "status_changed_at": "rr.closed_at",
                "amount": "rr.estimated_refund", "currency": "rr.currency", "method": "'original_payment'",
                "reason": "'Return ' || rr.number", "idempotency_key": "'bench-return-' || rr.id",
                "gateway": "'shopify'", "approved_at": "rr.closed_at", "succeeded_at": "rr.closed_at",
                "order_id": "rr.order_id", "shop_id": str(s), "return_request_id": "rr.id",
            },
            "returns_returnrequest rr WHERE rr.shop_id = %s AND rr.status = 'resolved'",
            params=[s],
        ))  # fmt: skip

        # -- disputes: closed ones (won, lost, accepted, settled) when older than 45 days, open ones after
        dispute_opened = f"(o.paid + {10 * DAY} + {rnd('o.n', salt + 'dspwhen', 50 * DAY)})"
        disputable = self.scalar(f"SELECT COUNT(*) FROM {o} WHERE o.paid IS NOT NULL AND {dispute_opened} <= {T}")
        dispute_ppm = min(1_000_000, sizes["disputes"] * 1_000_000 // max(disputable, 1))
        old = f"({dispute_opened} + {45 * DAY} <= {T})"
        dispute_status = (
            f"CASE WHEN {old} THEN "
            + case_buckets(rnd("o.n", salt + "dspstat", 100), [(40, "'won'"), (30, "'lost'"), (12, "'accepted'"),
                                                              (8, "'settled'"), (10, "'inquiry_closed'")])
            + " ELSE "
            + case_buckets(rnd("o.n", salt + "dspstat", 100), [(45, "'needs_response'"), (25, "'submitted'"),
                                                              (15, "'evidence_staged'"), (15, "'inquiry_open'")])
            + " END"
        )  # fmt: skip
        step("disputes", lambda: self.insert(
            _model("returns.Dispute"),
            {
                "created_at": d.ts(dispute_opened),
                "updated_at": d.ts(f"CASE WHEN {old} THEN {dispute_opened} + {40 * DAY} ELSE {dispute_opened} END"),
                "provider": case_buckets(rnd("o.n", salt + "dspprov", 3), [(1, "'shopify'"), (1, "'stripe'"),
                                                                          (1, "'paypal'")]),
                "external_id": "'dp_' || o.n",
                "kind": f"CASE WHEN {dispute_status} IN ('inquiry_open', 'inquiry_closed') THEN 'inquiry' "
                        f"ELSE 'chargeback' END",
                "status": dispute_status,
                "status_changed_at": d.ts(f"CASE WHEN {old} THEN {dispute_opened} + {40 * DAY} "
                                          f"ELSE {dispute_opened} END"),
                "reason_category": case_buckets(rnd("o.n", salt + "dspwhy", 100), [
                    (30, "'not_received'"), (25, "'not_as_described'"), (25, "'fraudulent'"), (5, "'duplicate'"),
                    (8, "'credit_not_processed'"), (2, "'subscription'"), (5, "'other'")]),
                "amount": f"(o.subtotal + {shipping}) / 100.0", "currency": f"'{shop.currency}'",
                "opened_at": d.ts(dispute_opened), "due_at": d.ts(f"{dispute_opened} + {14 * DAY}"),
                "submitted_at": d.ts(f"CASE WHEN {dispute_status} IN ('submitted', 'won', 'lost') "
                                     f"THEN {dispute_opened} + {3 * DAY} END"),
                "closed_at": d.ts(f"CASE WHEN {old} THEN {dispute_opened} + {40 * DAY} END"),
                "staged_packet": "'{}'", "customer_id": "o.customer_id", "order_id": "o.id", "shop_id": str(s),
            },
            f"{o} WHERE o.paid IS NOT NULL AND {dispute_opened} <= {T} "
            f"AND {rnd('o.n', salt + 'dsp', 1_000_000)} < {dispute_ppm}",
        ))  # fmt: skip

        # -- support cases: first answer due in 8 hours (about 12% late), resolution in 72 hours
        case_opened = f"(o.placed + {DAY} + {rnd('o.n', salt + 'casewhen', 20 * DAY)})"
        case_ppm = min(1_000_000, sizes["cases"] * 1_000_000 // max(self.scalar(
            f"SELECT COUNT(*) FROM {o} WHERE {case_opened} <= {T}"), 1))  # fmt: skip
        reply_r = rnd("o.n", salt + "casereply", 36_000)
        first_reply = f"({case_opened} + 600 + {reply_r} * {reply_r} / 36000)"
        settle_r = rnd("o.n", salt + "casedone", 600)
        resolved_at = f"({case_opened} + {HOUR} + {settle_r} * {settle_r} * 12 / 10)"
        case_status = (
            f"CASE WHEN {resolved_at} <= {T} AND {rnd('o.n', salt + 'casestat', 100)} < 95 THEN 'resolved' "
            f"WHEN {first_reply} > {T} THEN 'new' "
            f"WHEN {rnd('o.n', salt + 'casewait', 100)} < 40 THEN 'waiting_on_customer' ELSE 'open' END"
        )
        satisfaction = case_buckets(rnd("o.n", salt + "csat", 100), [(55, "5"), (25, "4"), (8, "3"), (5, "2"),
                                                                    (7, "1")])  # fmt: skip
        asked = f"({case_status} = 'resolved' AND {rnd('o.n', salt + 'csatask', 100)} < 30)"
        step("cases", lambda: self.insert(
            _model("returns.Case"),
            {
                "created_at": d.ts(case_opened),
                "updated_at": d.ts(f"CASE WHEN {case_status} = 'resolved' THEN {resolved_at} ELSE {case_opened} END"),
                "number": "o.n", "subject": "'Order #' || (1000 + o.n)", "status": case_status,
                "status_changed_at": d.ts(f"CASE WHEN {case_status} = 'resolved' THEN {resolved_at} "
                                          f"ELSE {case_opened} END"),
                "priority": "20", "language": lang_of,
                "first_response_due_at": d.ts(f"{case_opened} + {8 * HOUR}"),
                "first_responded_at": d.ts(f"CASE WHEN {case_status} <> 'new' THEN {first_reply} END"),
                "resolution_due_at": d.ts(f"{case_opened} + {72 * HOUR}"),
                "resolved_at": d.ts(f"CASE WHEN {case_status} = 'resolved' THEN {resolved_at} END"),
                "due_at": d.ts(f"CASE WHEN {case_status} = 'new' THEN {case_opened} + {8 * HOUR} "
                               f"WHEN {case_status} = 'open' THEN {case_opened} + {72 * HOUR} END"),
                "satisfaction_requested_at": d.ts(f"CASE WHEN {asked} THEN {resolved_at} END"),
                "satisfaction_score": f"CASE WHEN {asked} THEN {satisfaction} END",
                "satisfaction_comment": "''",
                "satisfaction_answered_at": d.ts(f"CASE WHEN {asked} THEN {resolved_at} END"),
                "customer_id": "o.customer_id", "order_id": "o.id", "shop_id": str(s),
            },
            f"{o} WHERE {case_opened} <= {T} AND {rnd('o.n', salt + 'case', 1_000_000)} < {case_ppm}",
        ))  # fmt: skip
        made["case_items"] = self.timed("case_items", lambda: self.insert(
            _model("returns.CaseItem"),
            {
                "kind": "'return_request'", "source": "'return:' || rr.id", "summary": "'Return ' || rr.number",
                "admin_path": "''", "created_at": "rr.created_at", "case_id": "c.id", "return_request_id": "rr.id",
            },
            "returns_case c JOIN returns_returnrequest rr ON rr.order_id = c.order_id WHERE c.shop_id = %s",
            params=[s],
        ) + self.insert(
            _model("returns.CaseItem"),
            {
                "kind": "'dispute'", "source": "'dispute:' || x.id", "summary": "'Dispute ' || x.external_id",
                "admin_path": "''", "created_at": "x.created_at", "case_id": "c.id", "dispute_id": "x.id",
                "due_at": "x.due_at",
            },
            "returns_case c JOIN returns_dispute x ON x.order_id = c.order_id WHERE c.shop_id = %s",
            params=[s],
        ))  # fmt: skip
        self.drop_scratch()
        return made

    def messages(self, shop, rules, target: int, salt: str) -> int:
        """About `target` outbox rows of the shop, spread over its rules as their triggers occur per order."""
        eligible = {}
        for stage, column in STAGE_COLUMN.items():
            eligible[stage] = self.scalar(f"SELECT COUNT(*) FROM bench_seed_order WHERE {column} IS NOT NULL")
        plans = [(rule, *TRIGGER_PLAN.get(rule.trigger, OTHER_TRIGGER)) for rule in rules]
        expected = sum(share * eligible[stage] for _rule, stage, share, _offset in plans)
        factor = target / expected if expected else 0.0
        total = 0
        for number, (rule, stage, share, offset) in enumerate(plans):
            wanted = share * factor  # messages per order at the stage
            if wanted <= 0 or not eligible[stage]:
                continue
            reps = min(20, max(1, math.ceil(wanted)))
            ppm = min(1_000_000, round(wanted / reps * 1_000_000))
            total += self.rule_messages(shop, rule, STAGE_COLUMN[stage], offset, reps, ppm, salt, f"{salt}r{number}")
        return total

    def rule_messages(self, shop, rule, stage_column: str, offset: int, reps: int, ppm: int, shop_salt: str,
                      salt: str) -> int:  # fmt: skip
        d, T = self.d, self.T
        delay = int(rule.delay.total_seconds())
        channels = rule.channels
        # Per row: the moment its stage happened (the planner wrote it then), its anchor, when it goes out.
        inner = (
            "SELECT o.n, o.id AS order_id, o.customer_id, o.customer_no, k.k, "
            f"o.{stage_column} AS planned, o.{stage_column} + {offset} AS anchor, "
            f"o.{stage_column} + {offset} + {delay} + {rnd('o.n * 32 + k.k', salt + 'window', 3 * HOUR)} AS send, "
            f"{rnd('o.n * 32 + k.k', salt + 'status', 1000)} AS u, "
            f"{rnd('o.n * 32 + k.k', salt + 'reason', 100)} AS ur, "
            f"{rnd('o.n * 32 + k.k', salt + 'open', 1000)} AS uo, "
            f"{rnd('o.n * 32 + k.k', salt + 'channel', 100)} AS uc "
            "FROM bench_seed_order o JOIN bench_seed_k k ON k.k <= " + str(reps) + " "
            f"WHERE o.{stage_column} IS NOT NULL AND {rnd('o.n * 32 + k.k', salt + 'pick', 1_000_000)} < {ppm}"
        )
        if len(channels) > 1:
            channel = f"CASE WHEN m.uc < 88 THEN '{channels[0]}' ELSE '{channels[1]}' END"
            fallback = f"CASE WHEN m.uc < 88 THEN '{channels[1]}' ELSE '' END"
        else:
            channel, fallback = f"'{channels[0]}'", "''"
        status = (
            f"CASE WHEN m.send > {T} THEN 'scheduled' WHEN m.u < 15 THEN 'failed' WHEN m.u < 95 THEN 'suppressed' "
            "WHEN m.u < 115 THEN 'cancelled' WHEN m.u < 125 THEN 'expired' WHEN m.u < 200 THEN 'sent' "
            "ELSE 'delivered' END"
        )
        went_out = f"(m.send <= {T} AND (m.u < 15 OR m.u >= 125))"
        delivered = f"(m.send <= {T} AND m.u >= 200)"
        reason = (
            f"CASE WHEN m.send <= {T} AND m.u >= 15 AND m.u < 95 THEN "
            + case_buckets("m.ur", [(25, "'opted_out'"), (15, "'no_consent'"), (10, "'budget'"),
                                    (15, "'invalid_address'"), (15, "'order_changed'"), (10, "'held'"),
                                    (5, "'expired_window'"), (5, "'duplicate'")])
            + f" WHEN m.send <= {T} AND m.u >= 95 AND m.u < 115 THEN 'order_changed' ELSE '' END"
        )  # fmt: skip
        lang = case_buckets(rnd("m.customer_no", shop_salt + "locale", 100),
                            [(w, f"'{lang}'") for w, _c, lang, _z, _p in LOCALES])  # fmt: skip
        zone = case_buckets(rnd("m.customer_no", shop_salt + "locale", 100),
                            [(w, f"'{z}'") for w, _c, _l, z, _p in LOCALES])  # fmt: skip
        phone = case_buckets(
            rnd("m.customer_no", shop_salt + "locale", 100),
            [(w, f"'{p}' || {d.pad('m.customer_no', 7)}") for w, _c, _l, _z, p in LOCALES],
        )
        is_email = f"({channel}) = 'email'"
        opened = f"({delivered} AND {is_email} AND m.uo < 450)"
        clicked = f"({delivered} AND m.uo < CASE WHEN {is_email} THEN 120 ELSE 80 END)"
        return self.insert(
            _model("journeys.Message"),
            {
                "trigger": f"'{rule.trigger}'", "step": "CAST(m.k AS TEXT)",
                "idem_key": f"'bench:{rule.pk}:' || m.order_id || ':' || m.k", "channel": channel,
                "fallback_channel": fallback,
                "address": f"CASE WHEN {is_email} THEN 'c' || m.customer_no || '@{shop.slug}.example' ELSE {phone} END",
                "language": lang, "time_zone": zone, "message_class": f"'{rule.message_class}'", "status": status,
                "reason": reason, "anchor_at": d.ts("m.anchor"), "not_before": d.ts(f"m.anchor + {delay}"),
                "send_at": d.ts("m.send"), "expires_at": d.ts(f"m.send + {rule.expire_after_hours * HOUR}"),
                "attempts": f"CASE WHEN {went_out} OR {delivered} THEN 1 ELSE 0 END", "max_attempts": "5",
                "lease_owner": "''",
                "provider": f"CASE WHEN {went_out} OR {delivered} THEN CASE WHEN {is_email} THEN 'anymail' "
                            "ELSE 'twilio' END ELSE '' END",
                "provider_message_id": f"CASE WHEN {went_out} OR {delivered} THEN 'bench-{rule.pk}-' || m.order_id "
                                       "|| '-' || m.k ELSE '' END",
                "error_code": f"CASE WHEN m.send <= {T} AND m.u < 15 THEN '30003' ELSE '' END",
                "error": f"CASE WHEN m.send <= {T} AND m.u < 15 THEN 'Unreachable destination handset' ELSE '' END",
                "explanation": "'Planned by the rule ' || " + quoted(rule.name),
                "subject": f"CASE WHEN {is_email} THEN 'Your order #' || (1000 + m.n) ELSE '' END",
                "body": f"CASE WHEN {is_email} THEN {quoted(EMAIL_COPY)} ELSE {quoted(SMS_COPY)} END "
                        "|| '#' || (1000 + m.n)",
                "html_body": f"CASE WHEN {is_email} THEN {quoted(EMAIL_HTML)} || (1000 + m.n) || ' -->' ELSE '' END",
                "segments": f"CASE WHEN {is_email} THEN NULL WHEN {lang} IN ('ru', 'ko', 'zh-hans') THEN 3 ELSE 2 END",
                "coupon_code": "''",
                "sent_at": d.ts(f"CASE WHEN {went_out} OR {delivered} THEN m.send + 2 END"),
                "delivered_at": d.ts(f"CASE WHEN {delivered} THEN m.send + 30 END"),
                "opened_at": d.ts(f"CASE WHEN {opened} THEN m.send + {HOUR} END"),
                "clicked_at": d.ts(f"CASE WHEN {clicked} THEN m.send + {HOUR} + 60 END"),
                "finished_at": d.ts(f"CASE WHEN m.send <= {T} THEN m.send + 2 END"),
                "created_at": d.ts("m.planned"), "updated_at": d.ts(f"CASE WHEN m.send <= {T} THEN m.send + 30 "
                                                                     "ELSE m.planned END"),
                "customer_id": "m.customer_id", "order_id": "m.order_id", "rule_id": str(rule.pk),
                "shop_id": str(shop.pk),
            },
            f"({inner}) m",
        )  # fmt: skip


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


def sizes_for(orders: int, messages: int) -> dict:
    """Everything else in proportion to the orders (at 200,000: 120,000 customers, 400 products, ~40,000
    reviews, ~20,000 NPS answers, ~8,000 returns, ~800 disputes, ~10,000 cases)."""
    return {
        "orders": orders,
        "messages": messages,
        "customers": max(1, orders * 3 // 5),
        "products": max(10, min(400, orders // 50)),
        "reviews": orders // 5,
        "nps": orders // 10,
        "returns": orders // 25,
        "disputes": max(1, orders // 250),
        "cases": orders // 20,
    }


def seed(*, orders: int, messages: int, other_shops: int, other_share: float, log=print) -> dict:
    """The measured shop and `other_shops` smaller ones, their owner, then ANALYZE. Returns counts, seconds
    and the seconds per step."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from merchant.models import Membership

    started = time.perf_counter()
    seeder = Seeder(now_epoch=int(timezone.now().timestamp()), log=log)
    if connection.vendor == "postgresql":
        # The seeding statements are long CASE expressions that PostgreSQL would JIT-compile at a second or
        # more each (docs/performance.md, fan-out); the pages are measured with the server's defaults again.
        seeder.execute("SET jit = off")
    made = []
    for index, spec in enumerate(SHOPS[: 1 + other_shops]):
        share = 1.0 if index == 0 else other_share
        sizes = sizes_for(max(1, int(orders * share)), max(1, int(messages * share)))
        log(f"  seeding {spec['slug']}: {sizes['orders']:,} orders, {sizes['messages']:,} messages …")
        made.append(seeder.shop(spec, sizes, salt=f"s{index}"))
    owner = get_user_model().objects.create_user(username=OWNER_USERNAME, email=OWNER_USERNAME, is_staff=True)
    from merchant.models import Merchant

    Membership.objects.create(user=owner, shop=Merchant.objects.get(slug=MEASURED_SLUG), role=Membership.Role.OWNER)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The planner writes each message as it plans it, so the outbox's rows lie on disk in the order they
        # were planned (created_at); the seeding wrote them rule by rule over the whole year. Put them back in
        # that order: an index-only scan over a period checks the visibility map page of each row's block, and
        # in rule-by-rule order consecutive rows of a period jump between those pages on every row.
        clustered = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("CLUSTER journeys_message USING journeys_msg_shop_created_idx")
        seeder.steps["outbox in planning order"] = time.perf_counter() - clustered
    analyze_started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # What autovacuum does after bulk inserts (PostgreSQL 13+): statistics, and the visibility map that
            # lets index-only scans skip the heap. Not inside a transaction (the test's): ANALYZE alone there.
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")  # fresh statistics, as after any bulk load
        if connection.vendor == "postgresql":
            cursor.execute("RESET jit")
    seeder.steps["vacuum and analyze"] = time.perf_counter() - analyze_started
    return {
        "shops": made,
        "seconds": time.perf_counter() - started,
        "steps": {name: round(seconds, 2) for name, seconds in seeder.steps.items()},
        "database_bytes": database_bytes(),
    }


def database_bytes() -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        else:
            return None
        return int(cursor.fetchone()[0])


def table_bytes() -> dict[str, dict]:
    """The biggest tables: their own size (with TOAST) and their indexes' (PostgreSQL)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_table_size(oid), pg_indexes_size(oid) FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace ORDER BY pg_total_relation_size(oid) DESC LIMIT 8"
        )
        return {name: {"table": table, "indexes": indexes} for name, table, indexes in cursor.fetchall()}


# --- The bench's own probe page (only when no insight page is registered, or BENCH_DASHBOARD_PROBE=1) ----

PROBE_TEMPLATE = (
    '{% extends "admin/insight/base.html" %}{% block insight %}{% for table in tables.values %}'
    '<h2>{{ table.title }}</h2>{% include "admin/insight/table.html" with table=table %}{% endfor %}{% endblock %}'
)


def _probe_view(request):
    """What a dashboard page typically asks: orders placed in the period by status, and the period's messages
    by rule and status, filtered by the person's shops first. Not a product page: the bench's reference."""
    from django.db.models import Count
    from django.template import engines

    from journeys.insight.pages import insight_render
    from journeys.insight.scope import insight_scope_from_request
    from journeys.insight.tables import Column, Table
    from journeys.models import Message
    from merchant.models import Order

    scope, form = insight_scope_from_request(request)
    orders = (
        Order.objects.filter(shop_id__in=scope.shop_ids, placed_at__gte=scope.start_at, placed_at__lt=scope.end_at)
        .values("status")
        .annotate(count=Count("id"))
        .order_by("status")
    )
    messages = (
        Message.objects.filter(shop_id__in=scope.shop_ids, send_at__gte=scope.start_at, send_at__lt=scope.end_at)
        .values("rule__name", "status")
        .annotate(count=Count("id"))
        .order_by("rule__name", "status")
    )
    tables = [
        Table(name="orders", title="Orders by status", rows=list(orders),
              columns=[Column("status", "Status"), Column("count", "Orders", numeric=True)]),
        Table(name="messages", title="Messages by rule and status", rows=list(messages),
              columns=[Column("rule__name", "Rule"), Column("status", "Status"),
                       Column("count", "Messages", numeric=True)]),
    ]  # fmt: skip
    template = engines["django"].from_string(PROBE_TEMPLATE)
    return insight_render(request, page=PROBE_PAGE, template=template, scope=scope, form=form, tables=tables)


def probe_page_register() -> None:
    import importlib

    from django.urls import clear_url_caches

    from journeys.insight.pages import InsightPage, insight_page_register

    insight_page_register(
        InsightPage(name=PROBE_PAGE, title="Bench probe", route="insight/bench-probe/", view=_probe_view, position=999)
    )
    clear_url_caches()
    if "merchant.urls" in sys.modules:  # the admin's URLs were built already: build them again with the page
        importlib.reload(sys.modules["merchant.urls"])


# --- Measuring ------------------------------------------------------------------------------------------


def measure(*, requests: int, probe: bool | None = None, log=print) -> dict:
    """Every registered insight page as the measured shop's owner: 30 days, 365 days, first table as CSV.
    `probe`: register the bench's probe page (None: only when no page is registered)."""
    import zoneinfo

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from journeys.insight.pages import insight_pages
    from merchant.models import Merchant

    if probe or (probe is None and not insight_pages()):
        probe_page_register()
    pages = insight_pages()
    user = get_user_model().objects.get(username=OWNER_USERNAME)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    shop = Merchant.objects.get(slug=MEASURED_SLUG)
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(shop.time_zone)).date()
    long_start = today - dt.timedelta(days=364)
    out = []
    for page in pages:
        base = reverse(f"admin:{page.name}")
        variants = [("30 days", base), ("365 days", f"{base}?start={long_start}&end={today}")]
        first = client.get(base)
        if first.status_code != 200:
            raise BenchError(f"{page.name} answered {first.status_code} to its owner")
        tables = [unquote(name) for name in re.findall(r"[?&;]csv=([^\"&<\s]+)", first.content.decode())]
        if tables:
            variants.append((f"CSV {tables[0]}", f"{base}?csv={tables[0]}"))
        for label, path in variants:
            figures = view_figures(client, path, requests)
            figures.update(page=page.name, title=str(page.title), period=label, path=path,
                           probe=page.name == PROBE_PAGE)  # fmt: skip
            log(
                f"  {page.name:<22} {label:<16} {figures['queries']:>3} queries  p50 {figures['p50_ms']:7.1f} ms  "
                f"p95 {figures['p95_ms']:7.1f} ms  raw p95 {figures['raw_p95_ms']:7.1f} ms"
            )
            out.append(figures)
    slowest = max(out, key=lambda view: view["p95_ms"], default=None)
    plans = explain(slowest["statements"]) if slowest else []
    for view in out:
        view["statements"] = [{"sql": sql, "params": [str(p) for p in params]} for sql, params in view["statements"]]
    return {"views": out, "slowest": slowest and {"page": slowest["page"], "period": slowest["period"]},
            "plans": plans, "pages_registered": [page.name for page in pages]}  # fmt: skip


def view_figures(client, path: str, requests: int) -> dict:
    from django.db import connection

    for _ in range(3):
        warm = client.get(path)
        if warm.status_code != 200:
            raise BenchError(f"{path} answered {warm.status_code}")
    statements: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        probe = client.get(path)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"{path} answered {response.status_code}")
    # Raw: the same statements with the same parameters on one cursor, fetched; no ORM, template or middleware.
    raw, each = [], [[] for _ in statements]
    with connection.cursor() as cursor:
        for _ in range(2):
            for sql, params in statements:
                cursor.execute(sql, params)
                if cursor.description:
                    cursor.fetchall()
        for _ in range(requests):
            started = time.perf_counter()
            for index, (sql, params) in enumerate(statements):
                began = time.perf_counter()
                cursor.execute(sql, params)
                if cursor.description:
                    cursor.fetchall()
                each[index].append((time.perf_counter() - began) * 1000)
            raw.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(statements),
        "bytes": len(probe.content),
        "p50_ms": percentile(timings, 0.5),
        "p95_ms": percentile(timings, 0.95),
        "max_ms": max(timings) if timings else float("nan"),
        "raw_p50_ms": percentile(raw, 0.5),
        "raw_p95_ms": percentile(raw, 0.95),
        "statement_p50_ms": [percentile(times, 0.5) for times in each],
        "statements": statements,
    }


def explain(statements: list[tuple[str, tuple]]) -> list[dict]:
    """The plan of each reading statement: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL (in a transaction rolled
    back), EXPLAIN QUERY PLAN on SQLite."""
    from django.db import connection, transaction

    plans = []
    for sql, params in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                text = "\n".join(row[0] for row in cursor.fetchall())
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                text = "\n".join(str(row[-1]) for row in cursor.fetchall())
            transaction.set_rollback(True)
        match = re.search(r"Execution Time: ([\d.]+) ms", text)
        jit = re.search(r"JIT:.*?Total ([\d.]+) ms", text, flags=re.S)
        plans.append({
            "sql": sql, "params": [str(p) for p in params], "plan": text,
            "execution_ms": float(match.group(1)) if match else None,
            "jit_ms": float(jit.group(1)) if jit else None,
            "seq_scans": re.findall(r"Seq Scan on (\w+)", text),
        })  # fmt: skip
    return plans


# --- Orchestration --------------------------------------------------------------------------------------


def django_main(action: str, args: dict) -> dict:
    django_setup()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if action == "run":
        seeded = seed(orders=args["orders"], messages=args["messages"], other_shops=args["other_shops"],
                      other_share=args["other_share"], log=log)  # fmt: skip
        log(f"  seeded in {seeded['seconds']:.1f} s, database {seeded['database_bytes'] / 1e6:,.0f} MB")
        seeded["tables_bytes"] = table_bytes()
        return {"seed": seeded, **measure(requests=args["requests"], probe=args["probe"], log=log)}
    raise SystemExit(f"unknown action {action}")


def helper_run(args: dict, env: dict, timeout: float) -> dict:
    """`python bench/dashboard.py _django run {args}`: its progress lines (stderr) shown as they come, the
    JSON of its last stdout line returned."""
    done = subprocess.run(  # noqa: S603
        [python_bin(), __file__, "_django", "run", json.dumps(args)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"bench/dashboard.py _django run failed ({done.returncode}); its error is above")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_database(kind: str, options) -> dict:
    orders = options.orders or (SMOKE["orders"] if options.smoke else DEFAULT_ORDERS[kind])
    messages = options.messages or (SMOKE["messages"] if options.smoke else orders * MESSAGES_PER_ORDER)
    database = kept_database(options.keep) if options.keep and kind == "postgres" else None
    with database or scratch_database("dashboard", kind) as (tmp, database_url):
        env = base_env(tmp / "var", database_url)
        print(f"[{kind}] migrate …", flush=True)
        run([python_bin(), "manage.py", "migrate", "--noinput"], env, timeout=900)
        # The admin pages name their CSS through the manifest storage of production settings.
        run([python_bin(), "manage.py", "collectstatic", "--noinput"], env, timeout=600)
        print(f"[{kind}] seeding {orders:,} orders and {messages:,} messages, then {options.requests} GETs "
              "per view …", flush=True)  # fmt: skip
        args = {"orders": orders, "messages": messages, "other_shops": options.other_shops,
                "other_share": options.other_share, "requests": options.requests, "probe": options.probe}  # fmt: skip
        result = helper_run(args, env, timeout=4 * 3600)
        result["database"] = kind
        return result


@contextlib.contextmanager
def kept_database(name: str):
    """A fresh PostgreSQL database `name` that stays after the run, to try pages on the seeded data
    (DATABASE_URL=…/name manage.py runserver). Only names starting with bench_ are dropped and made again."""
    if not re.fullmatch(r"bench_[a-z0-9_]+", name):
        raise BenchError(f"BENCH_DASHBOARD_KEEP={name!r}: the kept database's name must match bench_[a-z0-9_]+")
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-kept-"))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield tmp, url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"[postgres] kept the seeded database: DATABASE_URL={url} (owner {OWNER_USERNAME}, no password: "
              f"`manage.py changepassword {OWNER_USERNAME}`)", flush=True)  # fmt: skip


def table_rows(results: list[dict]) -> list[list]:
    rows = []
    for result in results:
        if "views" not in result:
            reason = result.get("skipped") or result.get("crashed")
            rows.append([result["database"], "-", "-", "-", "-", "-", "-", "-", "-", "-", reason])
            continue
        if not result["views"]:
            rows.append([result["database"], "(no page)", "-", "-", "-", "-", "-", "-", "-", "-", "-"])
        for f in result["views"]:
            ratio = f["p95_ms"] / f["raw_p95_ms"] if f["raw_p95_ms"] else None
            verdict = "met" if f["p95_ms"] < BUDGET_P95_MS else "MISSED"
            rows.append([
                result["database"], f["page"] + (" (bench probe)" if f.get("probe") else ""), f["period"],
                f["queries"], fmt(f["p50_ms"]), fmt(f["p95_ms"]), fmt(f["max_ms"]), fmt(f["raw_p50_ms"]),
                fmt(f["raw_p95_ms"]), f"{ratio:.1f}×" if ratio else "-", verdict,
            ])  # fmt: skip
    return rows


HEADER = ["database", "page", "period", "queries", "p50 ms", "p95 ms", "max ms", "raw SQL p50 ms", "raw SQL p95 ms",
          "ours ÷ raw", "p95 < 500 ms"]  # fmt: skip


def seed_lines(result: dict) -> list[str]:
    seeded = result["seed"]
    lines = [
        f"- {result['database']}: seeded in {seeded['seconds']:.0f} s, database "
        f"{(seeded.get('database_bytes') or 0) / 1e6:,.0f} MB"
    ]
    for shop in seeded["shops"]:
        counts = ", ".join(
            f"{name.replace('_', ' ')} {value:,}" for name, value in shop.items() if isinstance(value, int)
        )
        lines.append(f"  - {shop['shop']}: {counts}")
    slow = sorted(seeded["steps"].items(), key=lambda item: -item[1])[:6]
    lines.append("  - slowest seeding steps: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slow))
    if seeded.get("tables_bytes"):
        lines.append(
            "  - biggest tables with indexes: "
            + ", ".join(
                f"{name} {size['table'] / 1e6:,.0f} MB + indexes {size['indexes'] / 1e6:,.0f} MB"
                for name, size in seeded["tables_bytes"].items()
            )
        )
    return lines


def markdown(results: list[dict], meta: dict) -> str:
    notes = []
    for result in results:
        if "seed" in result:
            notes += seed_lines(result)
            if any(view.get("probe") for view in result["views"]):
                notes.append(
                    f"  - {result['database']}: measured the bench's probe page"
                    + (" (no insight page was registered)" if result["pages_registered"] == [PROBE_PAGE] else "")
                )
    slowest_statements = []
    for result in results:
        for view in result.get("views", []):
            if view["statement_p50_ms"]:
                index = max(range(len(view["statement_p50_ms"])), key=view["statement_p50_ms"].__getitem__)
                sql = view["statements"][index]["sql"]
                tables = re.findall(r'(?:FROM|JOIN) "(\w+)"', sql)
                slowest_statements.append([
                    result["database"], view["page"], view["period"], fmt(view["statement_p50_ms"][index], 2),
                    ", ".join(dict.fromkeys(tables)) or sql[:60],
                ])  # fmt: skip
    return "\n".join([
        "# Dashboard views",
        "",
        f"Run {meta['started']} ({meta.get('cpus')} CPUs, {meta.get('cpu_model', '')}), `{meta['command']}`.",
        "Ours: each registered insight page in-process (middleware, ORM, template) as an owner of the measured "
        "shop, for the last 30 days (the default), the last 365 days, and its first table as CSV. Raw: the "
        "page's own statements with its parameters on one cursor, fetched. Budget (issue 9): p95 < 500 ms on "
        "PostgreSQL. Query plans of the slowest view: `dashboard-plans.md`.",
        "",
        *notes,
        "",
        md_table(HEADER, table_rows(results)),
        "",
        "The slowest statement of each view (p50 in the raw replay) and the tables it reads:",
        "",
        md_table(["database", "page", "period", "ms", "tables"], slowest_statements) if slowest_statements else "-",
        "",
    ])  # fmt: skip


def plans_markdown(results: list[dict], meta: dict) -> str:
    parts = ["# Query plans of the slowest dashboard view", "", f"Run {meta['started']}, `{meta['command']}`.", ""]
    for result in results:
        if not result.get("slowest"):
            continue
        wanted = (result["slowest"]["page"], result["slowest"]["period"])
        slowest = next(view for view in result["views"] if (view["page"], view["period"]) == wanted)
        parts += [
            f"## {result['database']}: {slowest['page']}, {slowest['period']} (p95 {slowest['p95_ms']:.1f} ms, "
            f"{slowest['queries']} queries, raw SQL p95 {slowest['raw_p95_ms']:.1f} ms)",
            "",
            "Each statement's own time is its p50 in the raw replay; the plan is from one more run.",
            "",
        ]
        times = dict(zip((s["sql"] for s in slowest["statements"]), slowest["statement_p50_ms"], strict=False))
        for number, plan in enumerate(sorted(result["plans"], key=lambda p: -(times.get(p["sql"]) or 0)), 1):
            seq = ", ".join(sorted(set(plan["seq_scans"]))) or "none"
            jit = f"; JIT compiling {plan['jit_ms']:.0f} ms" if plan.get("jit_ms") else ""
            parts += [
                f"### {number}. {fmt(times.get(plan['sql']), 2)} ms (replay p50); sequential scans: {seq}{jit}",
                "",
                "```sql",
                plan["sql"],
                "```",
                "",
                f"Parameters: `{plan['params']}`" if plan["params"] else "No parameters.",
                "",
                "```",
                plan["plan"],
                "```",
                "",
            ]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    env = os.environ.get
    parser.add_argument("--db", default=env("BENCH_DB", "both"), choices=["sqlite", "postgres", "both"])
    parser.add_argument("--orders", type=int, default=int(env("BENCH_DASHBOARD_ORDERS", "0")) or None)
    parser.add_argument("--messages", type=int, default=int(env("BENCH_DASHBOARD_MESSAGES", "0")) or None)
    parser.add_argument("--other-shops", type=int, default=int(env("BENCH_DASHBOARD_OTHER_SHOPS", "2")))
    parser.add_argument("--other-share", type=float, default=float(env("BENCH_DASHBOARD_OTHER_SHARE", "0.2")))
    parser.add_argument("--requests", type=int, default=int(env("BENCH_DASHBOARD_REQUESTS", "0")) or None)
    parser.add_argument("--smoke", action="store_true", default=env("BENCH_DASHBOARD_SMOKE", "") not in ("", "0"))
    parser.add_argument("--probe", action="store_true", default=env("BENCH_DASHBOARD_PROBE", "") not in ("", "0"),
                        help="measure the bench's probe page beside the registered pages")  # fmt: skip
    parser.add_argument("--keep", default=env("BENCH_DASHBOARD_KEEP", ""),
                        help="PostgreSQL: seed into this database (bench_…) and keep it after the run")  # fmt: skip
    options = parser.parse_args()
    options.other_shops = max(0, min(options.other_shops, len(SHOPS) - 1))
    options.requests = options.requests or (SMOKE["requests"] if options.smoke else 30)
    options.probe = True if options.probe else None
    started = time.monotonic()
    results = bench_each_database(options.db, lambda kind: bench_database(kind, options))
    files = sorted({str(p.relative_to(ROOT)) for pattern in APP_CODE_GLOBS for p in ROOT.glob(pattern)})
    meta = {**run_meta(__file__, started), "code": app_code_fingerprint(files), "budget_p95_ms": BUDGET_P95_MS,
            "smoke": options.smoke}  # fmt: skip
    print(md_table(HEADER, table_rows(results)))
    name = "dashboard-smoke" if options.smoke else "dashboard"
    write_results(name, meta, results, markdown)
    plans_path = ROOT / "bench" / "results" / f"{name}-plans.md"
    plans_path.write_text(plans_markdown(results, meta))
    print(f"Query plans: {plans_path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_django":
        print(json.dumps(django_main(sys.argv[2], json.loads(sys.argv[3])), default=str))
    else:
        main()

#!/usr/bin/env python
# ruff: noqa: S608 - SQL built here from constants and model metadata; values are parameters
"""Benchmark: plan a holiday greeting for BENCH_FANOUT_CUSTOMERS customers (default 1,000,000) in 20 time zones.

For each database (SQLite in a fresh temporary VAR_DIR; PostgreSQL in a fresh database
`bench_fanout_<pid>` on postgres@127.0.0.1:5432, skipped with a message when it does not answer):

1. migrate; through the services a shop, a greeting with its rule and templates (marketing, SMS with
   email fallback, over-budget messages dropped so the contact budget is checked per row), the
   holiday approved for the 20 countries, and its occurrence (a scheduled campaign, 10:00 in each
   customer's zone, three days ahead);
2. seed the customers with one set-based INSERT: 20 zones (five of them share CET's 10:00, two
   share New York's), mostly with SMS and email consent; every 50th without SMS consent (email
   instead), every 100th of those without any consent, every 97th opted out of SMS, every 200th
   without a phone number;
3. ours: one worker process starts planning (`campaign_planning_start`) and runs the real chunk task
   (`journeys.campaigns.tasks.campaign_fanout_chunk_task`) chunk after chunk, as django-q2 would: the
   next chunk's `async_task` is queued in the same process and run when the chunk before it has
   committed. Wall time from planning start to the last commit; messages/s = rows planned ÷ wall;
   peak RSS of that process (`resource.getrusage`);
4. verify: one message per customer, no idempotency key twice, counts by status and reason, and
   the most scheduled messages of one (moment, channel) in any one-second bucket against the rate;
5. raw: the messages deleted, then the same rows written by ONE plain `INSERT ... SELECT` (the
   fan-out's own SQL over the whole audience: no chunks, cursor, locks or tasks), in one transaction,
   timed, and checked equal to ours (counts by status, reason and channel, first and last send time);
   then, for scale, a floor: one `INSERT ... SELECT` of the same columns where only the zone's moment
   is computed (no consent, budget, fallback or spread);
6. print tables, write bench/results/fanout.{json,md}, drop the database.

Budgets (issue 6): ours ÷ raw ≥ 0.5 on PostgreSQL and on SQLite; worker peak RSS < 300 MB.
Knobs (flags or environment): BENCH_DB (sqlite|postgres|both), BENCH_FANOUT_CUSTOMERS, BENCH_FANOUT_CHUNK.
Exit status is non-zero only when the benchmark itself crashes; a missed budget is printed.

    .venv/bin/python bench/fanout.py --db both --customers 50000
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import sys
import time
from collections import deque

from benchkit import (
    app_code_fingerprint,
    base_env,
    bench_each_database,
    call_script,
    django_setup,
    md_table,
    python_bin,
    run,
    run_meta,
    scratch_database,
    write_results,
)
from benchkit import fmt as _fmt

BUDGET_RATIO = 0.5
BUDGET_RSS_MB = 300.0
# (zone, country, language): twenty zones; Berlin, Vienna, Zurich, Paris and Madrid share CET's 10:00.
ZONES = [
    ("Asia/Seoul", "KR", "ko"),
    ("Asia/Shanghai", "CN", "zh-hans"),
    ("Asia/Tokyo", "JP", "en"),
    ("Asia/Singapore", "SG", "en"),
    ("Asia/Kolkata", "IN", "en"),
    ("Australia/Sydney", "AU", "en"),
    ("Pacific/Auckland", "NZ", "en"),
    ("Europe/Moscow", "RU", "ru"),
    ("Europe/Berlin", "DE", "de"),
    ("Europe/Vienna", "AT", "de"),
    ("Europe/Zurich", "CH", "de"),
    ("Europe/Paris", "FR", "en"),
    ("Europe/Madrid", "ES", "en"),
    ("Europe/London", "GB", "en"),
    ("America/Sao_Paulo", "BR", "en"),
    ("America/New_York", "US", "en"),
    ("America/Toronto", "CA", "en"),
    ("America/Chicago", "MX", "en"),
    ("America/Denver", "PE", "en"),
    ("America/Los_Angeles", "CL", "en"),
]
APP_CODE_FILES = ["journeys/campaigns/fanout.py", "journeys/campaigns/services.py", "journeys/campaigns/tasks.py"]


# --- Django side (subprocesses with the bench database's environment) ------------------------------


def django_main(action: str, args: dict) -> dict:
    django_setup()
    return {"setup": setup, "seed": seed, "ours": ours, "verify": verify, "raw": raw}[action](args)


def setup(args: dict) -> dict:
    """The shop, the greeting (its own rule and shipped copy), the approved holiday, and its occurrence."""
    from django.utils import timezone

    from journeys.campaigns import services
    from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign, HolidayGreeting
    from journeys.models import CareRule, OverBudget
    from journeys.services.rules import care_rule_save
    from merchant.actors import Actor
    from merchant.services.shops import merchant_create

    shop = merchant_create(
        name="Bench Shop", slug="bench-fanout", country="DE", time_zone="Europe/Berlin", contact_email="s@example.com"
    )
    day = timezone.now().date() + dt.timedelta(days=3)
    rule = care_rule_save(
        rule=CareRule(
            shop=shop,
            name="Holiday greeting: Bench",
            trigger="holiday_greeting",
            channel="sms",
            fallback_channel="email",
            message_class="marketing",
            over_budget=OverBudget.DROP,
            expire_after_hours=24,
        )
    )
    services.campaign_rule_templates_create(rule=rule)
    audience = Audience.objects.create(shop=shop, name="Everyone")
    greeting = HolidayGreeting.objects.create(
        shop=shop, name="Bench", rule=rule, audience=audience, holiday_keys=["bench_day"], is_active=True
    )
    for _zone, country, _language in ZONES:
        ApprovedHoliday.objects.get_or_create(
            shop=shop,
            country=country,
            key="bench_day",
            date=day,
            defaults={"names": {"en": "Bench Day"}, "source": "shop", "approved_at": timezone.now()},
        )
    campaign = services.campaign_create(
        shop=shop,
        name="Bench Day",
        audience=audience,
        actor=Actor.system("bench"),
        kind=Campaign.Kind.GREETING,
        rule=rule,
        greeting=greeting,
        holiday_key="bench_day",
        holiday_date=day,
        send_on=day,
    )
    services.campaign_schedule(campaign=campaign, actor=Actor.system("bench"))
    return {"shop": shop.pk, "campaign": campaign.pk, "greeting": greeting.pk, "day": day.isoformat()}


def seed(args: dict) -> dict:
    """`count` customers in one set-based INSERT, cycling through ZONES."""
    from django.db import connection, transaction

    count, shop = int(args["count"]), int(args["shop"])
    zone_case = "CASE g % 20 " + " ".join(f"WHEN {i} THEN '{zone}'" for i, (zone, _c, _l) in enumerate(ZONES)) + " END"
    country_case = "CASE g % 20 " + " ".join(f"WHEN {i} THEN '{c}'" for i, (_z, c, _l) in enumerate(ZONES)) + " END"
    language_case = (
        "CASE g % 20 " + " ".join(f"WHEN {i} THEN '{lang}'" for i, (_z, _c, lang) in enumerate(ZONES)) + " END"
    )
    if connection.vendor == "postgresql":
        source = "generate_series(1, %s) AS g"
        phone = "'+49151' || lpad(g::text, 8, '0')"
        now = "now()"
        prefix = ""
    else:
        prefix = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %s) "
        source = "s"
        phone = "'+49151' || substr('00000000' || g, -8)"
        now = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
    consent = f"{now}"
    sql = (
        f"{prefix}INSERT INTO merchant_customer (created_at, updated_at, shop_id, external_id, first_name, last_name, "
        "email, phone, phone_as_received, phone_problem, country, language, time_zone, time_zone_source, "
        "sms_marketing_consent_at, sms_marketing_consent_source, email_marketing_consent_at, "
        "email_marketing_consent_source, sms_opted_out_at, email_opted_out_at) "
        f"SELECT {now}, {now}, %s, NULL, 'Kim' || g, 'Bench', 'c' || g || '@example.com', "
        f"CASE WHEN g % 200 = 0 THEN '' ELSE {phone} END, '', '', {country_case}, {language_case}, {zone_case}, "
        f"'given', CASE WHEN g % 50 = 0 THEN NULL ELSE {consent} END, 'bench', "
        f"CASE WHEN g % 100 = 0 THEN NULL ELSE {consent} END, 'bench', "
        f"CASE WHEN g % 97 = 0 THEN {now} ELSE NULL END, NULL FROM {source} WHERE 1 = 1"
    ).replace("g % ", "g %% ")
    params = [count, shop] if connection.vendor == "sqlite" else [shop, count]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"customers": count, "seconds": time.perf_counter() - started}


def ours(args: dict) -> dict:
    """Planning start and every chunk task, in this one process, as a django-q2 worker runs them."""
    import resource
    import statistics

    import journeys.campaigns.services as services
    from journeys.campaigns import fanout
    from journeys.campaigns.models import Campaign
    from journeys.campaigns.tasks import campaign_fanout_chunk_task

    queue: deque = deque()

    def enqueue(func, *task_args, **_options):  # the broker, in-process: FIFO, run after the commit
        queue.append((func, task_args))

    services.async_task = enqueue
    fanout.CHUNK_SIZE = int(args["chunk"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    durations = []
    started = time.perf_counter()
    services.campaign_planning_start(campaign=Campaign.objects.get(pk=args["campaign"]))
    while queue:
        _func, (campaign_id, cursor) = queue.popleft()
        began = time.perf_counter()
        campaign_fanout_chunk_task(campaign_id, cursor)
        durations.append(time.perf_counter() - began)
    wall = time.perf_counter() - started
    campaign = Campaign.objects.get(pk=args["campaign"])
    return {
        "wall_s": wall,
        "chunks": len(durations),
        "chunk_ms_p50": statistics.median(durations) * 1000 if durations else None,
        "chunk_ms_max": max(durations) * 1000 if durations else None,
        "status": campaign.status,
        "rss_mb_before": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def verify(args: dict) -> dict:
    """What was planned: counts by status/reason/channel, duplicates, and the spread per second."""
    from django.db import connection

    from journeys.campaigns.fanout import channel_rates
    from merchant.models import Merchant

    shop = Merchant.objects.get(pk=args["shop"])
    rates = channel_rates(shop=shop)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, reason, channel, COUNT(*) FROM journeys_message WHERE campaign_id = %s GROUP BY 1, 2, 3",
            [args["campaign"]],
        )
        groups = [[status, reason, channel, count] for status, reason, channel, count in cursor.fetchall()]
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT customer_id), COUNT(DISTINCT idem_key), MIN(send_at), MAX(send_at) "
            "FROM journeys_message WHERE campaign_id = %s",
            [args["campaign"]],
        )
        rows, customers, keys, first, last = cursor.fetchone()
        bucket = "date_trunc('second', send_at)" if connection.vendor == "postgresql" else "substr(send_at, 1, 19)"
        cursor.execute(
            f"SELECT channel, MAX(n) FROM (SELECT channel, not_before, {bucket} AS b, COUNT(*) AS n "
            "FROM journeys_message WHERE campaign_id = %s AND status = 'scheduled' GROUP BY 1, 2, 3) t GROUP BY 1",
            [args["campaign"]],
        )
        most = dict(cursor.fetchall())
        cursor.execute("SELECT COUNT(*) FROM merchant_customer WHERE shop_id = %s", [args["shop"]])
        (audience,) = cursor.fetchone()
    problems = []
    if rows != audience or customers != audience:
        problems.append(f"{rows} messages for {customers} distinct of {audience} customers")
    if keys != rows:
        problems.append(f"{rows - keys} idempotency keys twice")
    for channel, count in most.items():
        if count > rates[channel]:
            problems.append(f"{count} {channel} messages of one moment in one second (rate {rates[channel]}/s)")
    return {
        "rows": rows,
        "groups": sorted(groups),
        "first_send_at": str(first)[:23],
        "last_send_at": str(last)[:23],
        "most_in_a_second": most,
        "rates": rates,
        "problems": problems,
    }


def _clear_messages() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE journeys_message CASCADE")
        else:
            cursor.execute("DELETE FROM journeys_message")


def raw(args: dict) -> dict:
    """The same rows as ONE plain INSERT ... SELECT, then the floor: the same columns, only the moment computed."""
    from django.db import connection, transaction
    from django.utils import timezone

    from journeys.campaigns import fanout
    from journeys.campaigns.models import Campaign
    from journeys.models import Message

    campaign = Campaign.objects.select_related("shop", "rule", "audience", "greeting").get(pk=args["campaign"])
    plan = fanout.plan_for(campaign, now=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT COALESCE(NULLIF(time_zone, ''), %s) FROM merchant_customer WHERE shop_id = %s",
            [campaign.shop.time_zone, campaign.shop_id],
        )
        zones = sorted(row[0] for row in cursor.fetchall())
    sql, params = fanout.whole_audience_insert_sql(plan, raw_zones=zones)
    # PostgreSQL: once with the server's defaults, once with JIT off as the chunks run; the faster counts.
    runs = {}
    for variant in ["defaults", "jit off"] if connection.vendor == "postgresql" else ["defaults"]:
        _clear_messages()
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            if variant == "jit off":
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, params)
            inserted = cursor.rowcount
        runs[variant] = time.perf_counter() - started
    raw_s = min(runs.values())
    checked = verify({"shop": campaign.shop_id, "campaign": campaign.pk})

    # The floor: same columns, the zone's moment as the only computed value.
    _clear_messages()
    moments = {zone: fanout.zone_time(campaign, zone=zone, shop=campaign.shop, anchor=plan.anchor) for zone in zones}
    adapt = connection.ops.adapt_datetimefield_value
    case = "CASE c.time_zone " + " ".join("WHEN %s THEN %s" for _zone in zones) + " END"
    case_params = [value for zone in zones for value in (zone, adapt(moments[zone].moment))]
    expressions = {
        "shop": ("%s", [campaign.shop_id]),
        "customer": ("c.id", []),
        "rule": ("%s", [campaign.rule_id]),
        "campaign": ("%s", [campaign.pk]),
        "trigger": ("%s", [campaign.rule.trigger]),
        "step": ("'0'", []),
        "idem_key": ("%s || CAST(c.id AS TEXT)", [plan.prefix]),
        "channel": ("'sms'", []),
        "fallback_channel": ("'email'", []),
        "language": ("c.language", []),
        "time_zone": ("c.time_zone", []),
        "message_class": ("'marketing'", []),
        "status": ("'scheduled'", []),
        "anchor_at": (case, case_params),
        "not_before": (case, case_params),
        "send_at": (case, case_params),
        "expires_at": (case, case_params),
        "explanation": ("%s", ["Bench floor: 10:00 local."]),
        "created_at": ("%s", [adapt(timezone.now())]),
        "updated_at": ("%s", [adapt(timezone.now())]),
    }
    columns, values, floor_params = [], [], []
    for field in Message._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.name in expressions:
            expression, expression_params = expressions[field.name]
        elif field.null and not field.has_default():
            expression, expression_params = "NULL", []
        else:
            expression, expression_params = "%s", [field.get_db_prep_save(field.get_default(), connection)]
        values.append(expression)
        floor_params += expression_params
    floor_sql = (
        f"INSERT INTO journeys_message ({', '.join(columns)}) SELECT {', '.join(values)} "
        "FROM merchant_customer c WHERE c.shop_id = %s ON CONFLICT (idem_key) DO NOTHING"
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(floor_sql, [*floor_params, campaign.shop_id])
        floor_rows = cursor.rowcount
    floor_s = time.perf_counter() - started
    _clear_messages()
    return {
        "rows": inserted,
        "seconds": raw_s,
        "seconds_by_settings": runs,
        "verify": checked,
        "floor_rows": floor_rows,
        "floor_seconds": floor_s,
    }


# --- Orchestration ---------------------------------------------------------------------------------


# `python bench/fanout.py _django <action> <args>`: the Django side, with the bench database's environment.
helper = functools.partial(call_script, __file__, "_django", timeout=7200)


def bench_database(kind: str, options) -> dict:
    result: dict = {"database": kind}
    with scratch_database("fanout", kind) as (tmp, database_url):
        env = base_env(tmp / "var", database_url, JOURNEYS_EMBEDDED_DISPATCH="false")
        print(f"[{kind}] migrate …", flush=True)
        run([python_bin(), "manage.py", "migrate", "--noinput"], {**env, "DEBUG": "true"}, timeout=3600)
        ids = helper("setup", {}, env)
        seeded = helper("seed", {"count": options.customers, "shop": ids["shop"]}, env)
        result["seed_s"] = seeded["seconds"]
        print(f"[{kind}] {options.customers:,} customers seeded in {seeded['seconds']:.1f}s; planning the greeting in "
              f"chunks of {options.chunk:,} …", flush=True)  # fmt: skip
        result["ours"] = helper("ours", {"campaign": ids["campaign"], "chunk": options.chunk}, env)
        result["verify"] = helper("verify", ids, env)
        ours = result["ours"]
        ours["rows"] = result["verify"]["rows"]
        ours["rate"] = ours["rows"] / ours["wall_s"] if ours["wall_s"] else None
        print(f"[{kind}]   ours: {ours['rows']:,} messages in {ours['wall_s']:.1f}s = {ours['rate']:,.0f}/s, "
              f"{ours['chunks']} chunks, peak RSS {ours['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
        print(f"[{kind}] raw: the same rows in one INSERT ... SELECT …", flush=True)
        result["raw"] = helper("raw", ids, env)
        raw_result = result["raw"]
        raw_result["rate"] = raw_result["rows"] / raw_result["seconds"] if raw_result["seconds"] else None
        raw_result["floor_rate"] = (
            raw_result["floor_rows"] / raw_result["floor_seconds"] if raw_result["floor_seconds"] else None
        )
        same = result["verify"]["groups"] == raw_result["verify"]["groups"] and (
            result["verify"]["first_send_at"],
            result["verify"]["last_send_at"],
        ) == (raw_result["verify"]["first_send_at"], raw_result["verify"]["last_send_at"])
        result["ratio"] = ours["rate"] / raw_result["rate"] if raw_result["rate"] else None
        result["ratio_floor"] = ours["rate"] / raw_result["floor_rate"] if raw_result["floor_rate"] else None
        result["budget"] = {
            "ratio_ok": result["ratio"] is not None and result["ratio"] >= BUDGET_RATIO,
            "rss_ok": ours["peak_rss_mb"] < BUDGET_RSS_MB,
            "verified": not result["verify"]["problems"] and same and ours["status"] == "sending",
        }
        if not same:
            result["verify"]["problems"].append("the raw statement wrote other rows than the chunks")
        print(f"[{kind}]   raw {raw_result['rate']:,.0f}/s ({raw_result['seconds']:.1f}s), "
              f"ratio {result['ratio']:.2f}; floor {raw_result['floor_rate']:,.0f}/s", flush=True)  # fmt: skip
        return result


# --- Reporting -------------------------------------------------------------------------------------


fmt = functools.partial(_fmt, group_ints=True)  # integers with thousands separators too


def results_table(results: list[dict]) -> str:
    header = ["db", "messages", "chunks", "ours s", "ours msg/s", "raw s", "raw msg/s", "ours ÷ raw",
              "floor msg/s", "ours ÷ floor", "peak RSS MB", "verified", f"÷ raw ≥{BUDGET_RATIO}",
              f"RSS <{BUDGET_RSS_MB:.0f} MB"]  # fmt: skip
    rows = []
    for r in results:
        if "ours" not in r:
            rows.append([r["database"], "skipped" if "skipped" in r else "crashed", *[""] * 11,
                         (r.get("skipped") or r.get("crashed") or "")[:60]])  # fmt: skip
            continue
        ours, raw_result = r["ours"], r["raw"]
        rows.append(
            [
                r["database"],
                fmt(ours["rows"]),
                ours["chunks"],
                fmt(ours["wall_s"]),
                fmt(ours["rate"], 0),
                fmt(raw_result["seconds"]),
                fmt(raw_result["rate"], 0),
                fmt(r["ratio"], 2),
                fmt(raw_result["floor_rate"], 0),
                fmt(r["ratio_floor"], 2),
                fmt(ours["peak_rss_mb"], 0),
                "yes" if r["budget"]["verified"] else "NO: " + "; ".join(r["verify"]["problems"]),
                "MET" if r["budget"]["ratio_ok"] else "MISSED",
                "MET" if r["budget"]["rss_ok"] else "MISSED",
            ]
        )
    return md_table(header, rows)


def outcome_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        if "verify" in r:
            for status, reason, channel, count in r["verify"]["groups"]:
                rows.append([r["database"], status, reason or "-", channel, fmt(count)])
    return md_table(["db", "status", "reason", "channel", "messages"], rows) if rows else ""


def markdown(results: list[dict], meta: dict) -> str:
    return "\n".join(
        [
            "# Fan-out benchmark: a holiday greeting to every customer",
            "",
            f"- Run: {meta['started']} on {meta['cpus']} CPU(s) ({meta['cpu_model']}), Python {meta['python']}",
            f"- Command: `{meta['command']}`",
            f"- Application code measured: sha256 {meta['app_code']['sha256_12']} of the fan-out files",
            f"- {meta['customers']:,} customers in {len(ZONES)} time zones; greeting at 10:00 in each customer's zone; "
            f"chunks of {meta['chunk']:,}; SMS with email fallback, marketing (consent and the contact budget per row)",
            "- Ours: `campaign_planning_start` then every `campaign_fanout_chunk_task`, one after another in one "
            "worker process (the next task queued in-process, run after the commit), wall time from start to the "
            "last commit; peak RSS of that process",
            "- Raw: the same rows (checked equal) by one plain `INSERT ... SELECT` of the fan-out's SQL over the "
            "whole audience, one transaction (PostgreSQL: the faster of the server's defaults and JIT off, as the "
            "chunks run). Floor: one `INSERT ... SELECT` of the same columns computing only the zone's moment",
            f"- Budgets: ours ÷ raw ≥ {BUDGET_RATIO}; worker peak RSS < {BUDGET_RSS_MB:.0f} MB",
            "",
            results_table(results),
            "",
            "What was planned:",
            "",
            outcome_table(results),
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ.get
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=env("BENCH_DB", "both"))
    parser.add_argument("--customers", type=int, default=int(env("BENCH_FANOUT_CUSTOMERS", 1_000_000)))
    parser.add_argument("--chunk", type=int, default=int(env("BENCH_FANOUT_CHUNK", 5000)))
    options = parser.parse_args()
    if options.customers < 20 or options.chunk < 1:
        parser.error("--customers must be at least 20 and --chunk positive")

    load_at_start = os.getloadavg()
    started = time.monotonic()
    results = bench_each_database(options.db, lambda kind: bench_database(kind, options))
    meta = {
        **run_meta(__file__, started),
        "customers": options.customers,
        "chunk": options.chunk,
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "budget": {"ratio": BUDGET_RATIO, "peak_rss_mb": BUDGET_RSS_MB},
        "app_code": app_code_fingerprint(APP_CODE_FILES, newest_mtime=False),
    }
    print()
    print(f"Fan-out: a greeting to {options.customers:,} customers in {len(ZONES)} zones, chunks of {options.chunk:,}")
    print(results_table(results))
    print()
    print(outcome_table(results))
    for r in results:
        for problem in (r.get("verify") or {}).get("problems", []):
            print(f"[{r['database']}] MISMATCH: {problem}")
    write_results("fanout", meta, results, markdown)
    return 1 if any("crashed" in r for r in results) else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "_django":
        print(json.dumps(django_main(sys.argv[2], json.loads(sys.argv[3])), default=str))
    else:
        sys.exit(main())

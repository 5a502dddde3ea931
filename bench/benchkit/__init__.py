"""What the benchmarks in bench/ share: paths, the scratch database and the app's environment per run,
running the app's commands and the script's own helper processes, CPU accounting from /proc, statistics,
tables and the result files.

A package, not a bench/*.py module: `make bench` runs every bench/*.py as a benchmark. The scripts run as
`python bench/<name>.py` (from the repository root or from anywhere else, and so do their own helper
processes, `python bench/<name>.py _django …`), which puts bench/ first on sys.path: `from benchkit import …`
finds this package. Standard library only at import time: the webhook benchmark's load generator imports
it too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
LOOPBACK = "127.0.0.1"


class BenchError(Exception):
    pass


# --- Processes -------------------------------------------------------------------------------------


def python_bin() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def base_env(var_dir: Path, database_url: str | None, **settings: str) -> dict[str, str]:
    """The environment of the app's processes in a run: production-like settings (no .env file, DEBUG off,
    a random SECRET_KEY, only 127.0.0.1 allowed, no SSL redirect), the run's own VAR_DIR and database;
    `settings` adds a benchmark's own (or overrides these)."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "VAR_DIR", "STATIC_ROOT", "DJANGO_SETTINGS_MODULE", "CONN_MAX_AGE"):
        env.pop(name, None)
    env.update(
        ENV_FILE="",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=LOOPBACK,
        SECURE_SSL_REDIRECT="false",
        VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="merchant.settings",
        PYTHONUNBUFFERED="1",
        **settings,
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run(cmd: list[str], env: dict, timeout: float = 600) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:4])}… failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def call_script(script: str, mode: str, action: str, args: dict, env: dict, timeout: float) -> dict:
    """Run `python <script> <mode> <action> <args as JSON>` (a benchmark's own helper process, such as
    `_django setup {…}`) and return the JSON of the last line it prints."""
    out = run([python_bin(), script, mode, action, json.dumps(args)], env, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


# --- Databases -------------------------------------------------------------------------------------


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def pg_available() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed in this environment"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as error:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return None


@contextlib.contextmanager
def scratch_database(name: str, kind: str) -> Iterator[tuple[Path, str | None]]:
    """A fresh temporary directory `bench-<name>-<kind>-…` (the run's VAR_DIR goes below it, and with it
    the SQLite database) and, for PostgreSQL, a fresh database `bench_<name>_<pid>`: yields (directory,
    the database's URL or None). Both go when the block ends; a database that cannot be dropped is
    reported, not raised."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-{kind}-"))
    db_name = f"bench_{name}_{os.getpid()}"
    database_url = None
    created_pg = False
    try:
        if kind == "postgres":
            database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db_name}"
            pg_admin(f'DROP DATABASE IF EXISTS "{db_name}"')
            pg_admin(f'CREATE DATABASE "{db_name}"')
            created_pg = True
        yield tmp, database_url
    finally:
        if created_pg:
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001
                print(f"[{kind}] could not drop {db_name}: {error}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


def bench_each_database(db: str, bench: Callable[[str], dict]) -> list[dict]:
    """`bench(kind)` for "sqlite" and "postgres" (`db`: sqlite, postgres or both), in that order.
    PostgreSQL is skipped with a message when it does not answer, and a crash is recorded as a result
    (`{"database": kind, "crashed": first line}`) so that the other database still runs."""
    results = []
    for kind in ["sqlite", "postgres"] if db == "both" else [db]:
        if kind == "postgres":
            reason = pg_available()
            if reason:
                print(f"[postgres] SKIPPED: PostgreSQL at {PG_ADMIN_URL} does not answer ({reason})", flush=True)
                results.append({"database": "postgres", "skipped": reason})
                continue
        try:
            results.append(bench(kind))
        except (BenchError, subprocess.TimeoutExpired, OSError) as error:
            print(f"[{kind}] CRASHED: {error}", file=sys.stderr, flush=True)
            results.append({"database": kind, "crashed": str(error).splitlines()[0] if str(error) else repr(error)})
    return results


# --- CPU accounting (Linux /proc; None where it cannot be read) ------------------------------------


def _proc_stat(pid: int | str) -> tuple[str, list[str]]:
    """(command name, the fields after it) of /proc/<pid>/stat: fields[2] is the process group, 11 and 12
    the process's own user and system time, 13 and 14 those of the children it has waited for (ticks)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()


def _live_processes() -> Iterator[tuple[str, list[str]]]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                yield _proc_stat(entry)
            except OSError:
                continue


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one process."""
    try:
        _name, fields = _proc_stat(pid)
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def process_group_cpu_s(pgid: int) -> float | None:
    """User+system CPU seconds of the live processes of a process group we started, Linux only."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for _name, fields in _live_processes():
            if int(fields[2]) == pgid:
                # own time plus that of reaped children (recycled workers), each counted once
                total += sum(int(value) for value in fields[11:15]) / tick
        return total
    except (OSError, ValueError):
        return None


def postgres_cpu_s(*, reaped_children: bool) -> float | None:
    """CPU seconds (user + system) of every live local `postgres` process, the server side of a
    PostgreSQL run; with `reaped_children`, plus the time of the children each has waited for."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        last = 15 if reaped_children else 13
        total = 0.0
        for name, fields in _live_processes():
            if name == "postgres":
                total += sum(int(value) for value in fields[11:last]) / tick
        return total
    except (OSError, ValueError):
        return None


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle_jiffies = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle_jiffies, sum(values)


def busy_pct(before, after) -> float | None:
    """How busy the machine's CPUs were between two `machine_busy()` readings, in percent."""
    if not before or not after or after[1] == before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


# --- Figures and tables ----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt(value, digits=1, *, group_ints: bool = False) -> str:
    """A table cell: "-" for None, floats with thousands separators and `digits` decimals, integers with
    thousands separators when `group_ints`, anything else as str()."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if group_ints and isinstance(value, int) else str(value)


def md_table(header: list[str], rows: list[list]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)) + " |" for row in [header, *rows]]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def code_location(filename: str) -> str:
    """A profiled function's file, short: from site-packages/ for libraries, from the repository root for ours."""
    return filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")


# --- Result files ----------------------------------------------------------------------------------


def app_code_fingerprint(files: list[str], *, newest_mtime: bool = True) -> dict:
    """Which application code was measured (the tree changes under us): sha256 of `files` (paths from the
    repository root; missing ones are skipped) and, with `newest_mtime`, the newest one's change time."""
    digest = hashlib.sha256()
    newest = 0.0
    for name in files:
        path = ROOT / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
    if not newest_mtime:
        return {"sha256_12": digest.hexdigest()[:12], "files": files}
    return {
        "sha256_12": digest.hexdigest()[:12],
        "newest_mtime": dt.datetime.fromtimestamp(newest, dt.UTC).isoformat(timespec="seconds") if newest else None,
        "files": files,
    }


def run_meta(script: str, started: float | None = None, *, with_cpu_model: bool = True) -> dict:
    """The first entries of a result file's `meta`: when the run ended, how long it took (from `started`,
    a time.monotonic() reading; left out without it), the CPUs (and, `with_cpu_model`, their model), the
    Python version and the command (`script` is the benchmark's __file__)."""
    meta: dict = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    if started is not None:
        meta["seconds"] = time.monotonic() - started
    meta["cpus"] = os.cpu_count()
    if with_cpu_model:
        meta["cpu_model"] = cpu_model()
    meta["python"] = sys.version.split()[0]
    meta["command"] = " ".join([".venv/bin/python", f"bench/{Path(script).name}", *sys.argv[1:]])
    return meta


def write_results(name: str, meta: dict, results: list[dict], markdown: Callable[[list[dict], dict], str]) -> None:
    """bench/results/<name>.json (meta and results) and <name>.md (`markdown(results, meta)`), then a line
    saying where, with the run's seconds when `meta` has them."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path, md_path = RESULTS_DIR / f"{name}.json", RESULTS_DIR / f"{name}.md"
    json_path.write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    md_path.write_text(markdown(results, meta))
    took = f" ({meta['seconds']:.0f} s)" if "seconds" in meta else ""
    print(f"Results: {json_path}, {md_path}{took}")


# --- a gunicorn server under test ---------------------------------------------------------------


def gunicorn_bin() -> str:
    venv = ROOT / ".venv" / "bin" / "gunicorn"
    return str(venv) if venv.exists() else shutil.which("gunicorn") or "gunicorn"


def wait_until_up(
    port: int, proc: subprocess.Popen, log: Path, *, path: str = "/health", ready=(200,), timeout: float = 60
) -> float:
    """Seconds until the server at `port` answers `path` with one of the `ready` statuses."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status in ready:
                return time.monotonic() - started
            raise BenchError(f"gunicorn answered {response.status} to the readiness probe {path}")
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer within {timeout}s:\n{log.read_text()[-3000:]}")


def stop_process(proc: subprocess.Popen | None) -> None:
    """SIGTERM the process group we started (a gunicorn master and its workers, a drainer)."""
    if proc is None:
        return
    try:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # Leftover children (a worker still finishing) of our own group.
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

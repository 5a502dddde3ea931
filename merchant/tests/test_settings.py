"""Settings read from the environment fail closed; the embedded database survives two writers.

Each case starts a fresh Python process, because settings are read once at start-up.
"""

import os
import secrets
import socket
import subprocess
import sys
import textwrap

import pytest

from merchant.tests.processes import ROOT, run_python

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "care.shop.example",
    "CSRF_TRUSTED_ORIGINS": "https://care.shop.example",
}


SHOW_SETTINGS = """
    import django
    django.setup()
    from django.conf import settings
    db = settings.DATABASES["default"]
    print(db["ENGINE"], db.get("NAME"), db.get("HOST"), db["CONN_MAX_AGE"])
    print("broker", "redis" if "redis" in settings.Q_CLUSTER else settings.Q_CLUSTER.get("orm"))
    print("timeout<retry", settings.Q_CLUSTER["timeout"] < settings.Q_CLUSTER["retry"])
"""


def test_missing_secret_key_with_debug_off_stops_start_up(tmp_path):
    result = run_python(SHOW_SETTINGS, {}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_missing_allowed_hosts_with_debug_off_stops_start_up(tmp_path):
    result = run_python(SHOW_SETTINGS, {"SECRET_KEY": secrets.token_urlsafe(50)}, tmp_path)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


def test_a_dot_env_file_fills_in_what_the_environment_does_not_set(tmp_path):
    env_file = tmp_path / "settings.env"
    env_file.write_text("DEBUG=true\nREDIS_URL=redis://from-file:6379/0\n")
    result = run_python(SHOW_SETTINGS, {"ENV_FILE": str(env_file), "REDIS_URL": ""}, tmp_path)
    assert result.returncode == 0, result.stderr
    # DEBUG came from the file; REDIS_URL was set (empty) in the environment, which wins
    assert result.stdout.splitlines()[1] == "broker default"


def test_a_malformed_boolean_is_an_error_not_a_guess(tmp_path):
    result = run_python(SHOW_SETTINGS, {"DEBUG": "maybe"}, tmp_path)
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_development_defaults_to_sqlite_under_var_and_the_orm_broker(tmp_path):
    result = run_python(SHOW_SETTINGS, {"DEBUG": "true"}, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"django.db.backends.sqlite3 {tmp_path / 'merchant.sqlite3'}")
    assert lines[1:] == ["broker default", "timeout<retry True"]
    # the development key is kept so sessions survive restarts
    assert (tmp_path / "dev-secret-key").read_text().strip()


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path):
    env = {
        **PRODUCTION,
        "DATABASE_URL": "postgres://shop:pw@db.internal:5432/merchant",
        "REDIS_URL": "redis://cache.internal:6379/0",
    }
    result = run_python(SHOW_SETTINGS, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "django.db.backends.postgresql merchant db.internal 600",
        "broker redis",
        "timeout<retry True",
    ]


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    result = run_python("", PRODUCTION, tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


WRITER = """
    import sys, django
    django.setup()
    from django.db import transaction
    from merchant.models import Merchant
    for n in range(150):
        with transaction.atomic():
            # read, then write: the pattern that fails at once with deferred SQLite transactions
            shop = Merchant.objects.select_for_update().get(slug="shared")
            shop.sender_name = f"{sys.argv[1]}-{n}"
            shop.save(update_fields=["sender_name"])
    print("done")
"""


def test_sqlite_runs_in_wal_mode_and_two_writers_do_not_lock_each_other_out(tmp_path):
    env = {"DEBUG": "true", "DATABASE_URL": ""}
    migrated = run_python("", env, tmp_path, "manage.py", "migrate", "--noinput", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    created = run_python(
        """
        import django
        django.setup()
        from django.db import connection
        from merchant.models import Merchant
        Merchant.objects.create(name="Shared", slug="shared", country="US", time_zone="UTC")
        with connection.cursor() as cursor:
            print(cursor.execute("PRAGMA journal_mode").fetchone()[0])
        """,
        env,
        tmp_path,
    )
    assert created.stdout.strip() == "wal", created.stderr
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    full_env = {
        **os.environ,
        "ENV_FILE": "",
        "VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "merchant.settings",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    writers = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, str(script), name],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("web", "cluster")
    ]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (stdout, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, stderr
        assert "database is locked" not in stderr
        assert stdout.strip() == "done"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_redis_broker_carries_a_task_when_redis_url_is_set(tmp_path):
    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail("Redis does not answer on 127.0.0.1:6379; .ci/run starts it")
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    env = {"DEBUG": "true", "REDIS_URL": "redis://127.0.0.1:6379/15", "Q_CLUSTER_NAME": f"test-{secrets.token_hex(4)}"}
    result = run_python(
        """
        import django
        django.setup()
        from django_q.brokers import get_broker
        broker = get_broker()
        print(type(broker).__name__, broker.ping())
        broker.enqueue("payload-1")
        task_id, payload = broker.dequeue()[0]
        print(payload.decode())
        broker.delete_queue()
        """,
        env,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Redis True", "payload-1"]

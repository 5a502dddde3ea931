"""Prepared statements for the hottest SQL on PostgreSQL: the planner's statements and the
dispatcher's claim and record.

PostgreSQL plans every statement it receives. On `journeys_message`, with its many indexes,
planning a short statement costs more than running it (bench/outbox.py, planning part). A
prepared statement is planned once per connection and then only executed. psycopg prepares a
statement sent through a server-side-binding cursor with `prepare=True` and keeps the prepared
statements per connection, so a connection closed and opened again (CONN_MAX_AGE, errors)
simply prepares them again. Django's own cursor binds parameters on the client and prepares
nothing; only statements run through `prepared_cursor()` are prepared, and their text must be
constant to be reused (arrays and `unnest`, never a variable number of placeholders).

`JOURNEYS_PREPARED_STATEMENTS=false` turns this off: needed behind a pooler that hands each
transaction a different server connection without tracking prepared statements (pgbouncer in
transaction mode before 1.21, or with `max_prepared_statements = 0`).
"""

import functools

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper


def prepared_cursor() -> CursorWrapper:
    """A cursor whose statements PostgreSQL prepares once per connection; Django's usual cursor otherwise.

    It is still Django's cursor wrapper around a psycopg cursor of the same connection and
    transaction: errors become `django.db` errors, queries are counted, logged and wrapped.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: each read through the proxy costs a lookup
    if db.vendor != "postgresql" or not settings.JOURNEYS_PREPARED_STATEMENTS:
        return db.cursor()
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        db.validate_thread_sharing()
        raw_connection = db.connection
        if raw_connection.prepare_threshold is None:
            # Django turns psycopg's statement cache off (prepare_threshold=None), which ignores
            # prepare=True too. Django's client-side-binding cursors never prepare, so a
            # threshold that is never reached prepares only what this module asks for.
            raw_connection.prepare_threshold = _ONLY_WHEN_ASKED
        preparing_cursor, debug_wrapper = _preparing_classes()
        cursor = preparing_cursor(raw_connection)
        return debug_wrapper(cursor, db) if db.queries_logged else db.make_cursor(cursor)


_ONLY_WHEN_ASKED = 2**31


@functools.cache
def _preparing_classes() -> tuple[type, type]:
    # Built on first use: psycopg and Django's PostgreSQL backend import only where PostgreSQL is used.
    import psycopg
    from django.db.backends.postgresql.base import CursorDebugWrapper

    class PreparingCursor(psycopg.Cursor):
        """Server-side binding; every statement prepared (psycopg caches them per connection)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

    class PreparingCursorDebugWrapper(CursorDebugWrapper):
        """Logs the statement with its values, as Django does for its server-side-binding cursors
        (a prepared execution leaves psycopg no query text to report)."""

        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params)):
                return CursorWrapper.execute(self, sql, params)

    return PreparingCursor, PreparingCursorDebugWrapper

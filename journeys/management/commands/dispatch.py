"""`manage.py dispatch`: drain the outbox. Long-running by default; `--once` drains what is due and exits.

Run several on PostgreSQL (they skip each other's rows); run one on SQLite.
"""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from journeys.models import Channel
from journeys.services.dispatch import Dispatcher


class Command(BaseCommand):
    help = "Send due messages from the outbox. Ctrl-C or SIGTERM stops after the current batch."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Drain what is due now, then exit.")
        parser.add_argument("--batch-size", type=int, default=settings.JOURNEYS_DISPATCH_BATCH)
        parser.add_argument(
            "--channel", action="append", choices=Channel.values, help="Only these channels (repeatable)."
        )
        parser.add_argument("--max-seconds", type=float, default=None, help="Stop after this long.")
        parser.add_argument("--idle-sleep", type=float, default=1.0, help="Seconds to wait when nothing is due.")

    def handle(self, *args, once, batch_size, channel, max_seconds, idle_sleep, **options):
        stopping = False

        def stop(_signum, _frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        started = time.monotonic()
        with Dispatcher(channels=channel or Channel.values, batch_size=batch_size) as dispatcher:
            self.stderr.write(f"Dispatcher {dispatcher.owner} started.")
            report = dispatcher.drain(
                max_seconds=max_seconds,
                stop_when_idle=once,
                idle_sleep=idle_sleep,
                should_stop=lambda: stopping,
            )
        seconds = time.monotonic() - started
        self.stdout.write(f"{report} in {seconds:.1f} s.")

from django.core.management.base import BaseCommand

from merchant.services.inbound import inbound_events_drain


class Command(BaseCommand):
    help = (
        "Apply stored webhook deliveries as they arrive. The django-q2 cluster does this by itself "
        "(schedule merchant.inbound_events_drain); run this for a dedicated process or a one-off catch-up."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seconds", type=float, default=None, help="Stop after this long (default: run until stopped)"
        )

    def handle(self, *args, seconds, **options):
        total = 0
        try:
            while True:
                total += inbound_events_drain(max_seconds=seconds if seconds is not None else 60)
                if seconds is not None:
                    break
        except KeyboardInterrupt:
            pass
        self.stdout.write(f"APPLIED={total}")

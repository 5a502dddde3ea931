from django.core.management.base import BaseCommand

from merchant.services.schedules import schedules_sync


class Command(BaseCommand):
    help = "Make django-q2's schedules match the SCHEDULES declared in code (idempotent)."

    def handle(self, *args, **options):
        report = schedules_sync()
        for outcome in ("created", "updated", "unchanged", "deleted"):
            for name in report[outcome]:
                self.stdout.write(f"{outcome.upper()}={name}")
        total = sum(len(names) for names in report.values())
        self.stdout.write(self.style.SUCCESS(f"Schedules in sync ({total - len(report['deleted'])} declared)."))

from django.core.management.base import BaseCommand

from merchant.models import Merchant
from merchant.services import merchant_defaults_complete


class Command(BaseCommand):
    help = (
        "Give every shop what a new shop gets, where it is missing, e.g. the default rule of a trigger added "
        "since the shop was made (idempotent; nothing a shop has is changed)."
    )

    def handle(self, *args, **options):
        shops = list(Merchant.objects.order_by("pk"))
        for shop in shops:
            merchant_defaults_complete(shop=shop)
        self.stdout.write(self.style.SUCCESS(f"Shop defaults in sync ({len(shops)} shops)."))

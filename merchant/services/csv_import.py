"""Apply a checked CSV file: all rows or none."""

from django.core.exceptions import ValidationError
from django.db import transaction

from merchant.actors import Actor
from merchant.models import Customer, Merchant, Order
from merchant.platforms.csv_files import ParsedFile
from merchant.services.customers import customer_sync
from merchant.services.order_sync import order_sync


def csv_import_preview(*, shop: Merchant, parsed: ParsedFile) -> dict[str, int]:
    """How many rows would create and how many would update (nothing is written)."""
    model = Customer if parsed.kind == "customers" else Order
    ids = [item.external_id for item in parsed.items]
    existing = set(model.objects.filter(shop=shop, external_id__in=ids).values_list("external_id", flat=True))
    return {"new": sum(1 for item_id in ids if item_id not in existing), "updated": len(existing)}


@transaction.atomic
def csv_import_apply(*, shop: Merchant, parsed: ParsedFile, actor: Actor) -> dict[str, int]:
    """Create or update every customer or order of the file in one transaction.

    A file with problems is refused whole; an error on any row rolls every row back.
    """
    if not parsed.ok:
        raise ValidationError([str(problem) for problem in parsed.problems])
    counts = csv_import_preview(shop=shop, parsed=parsed)
    for item in parsed.items:
        if parsed.kind == "customers":
            customer_sync(shop=shop, snapshot=item)
        else:
            order_sync(shop=shop, snapshot=item, actor=actor, source_platform=Order.SourcePlatform.ADMIN)
    return counts

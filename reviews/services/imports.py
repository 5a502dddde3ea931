"""Reviews imported from a CSV file (another review app, a marketplace): stored as `source=import`."""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import Merchant
from reviews.csv_files import ParsedImport
from reviews.models import Review, ReviewEvent
from reviews.screening import review_flags, spam_fingerprint


@dataclass(frozen=True)
class ImportResult:
    created: int
    already_imported: int


@transaction.atomic
def reviews_import(*, shop: Merchant, parsed: ParsedImport, actor: Actor) -> ImportResult:
    """Store the checked rows of a reviews file as reviews of `shop`, all or nothing.

    Guarantees: a file with any problem stores nothing (ValidationError listing them by line and column);
    every review is marked `source=import` (the storefront API and the admin show it) and names no customer,
    only the author as given; a row imported before (same product, stars, words, author and date) is not
    stored twice; the same checks as on the review page decide whether it publishes at once (profanity, links,
    personal data) — never its stars. Imported reviews open no "needs attention" item: they are history,
    not a customer waiting for an answer. Each gets an "Imported" line in its history naming the person.
    """
    if parsed.problems:
        raise ValidationError([str(problem) for problem in parsed.problems])
    if not parsed.rows:
        raise ValidationError(_("The file has no reviews to import."))
    if any(row.product.shop_id != shop.pk for row in parsed.rows):
        raise ValidationError(_("The file was checked for another shop; upload it again."))
    # All the shop's import keys rather than `__in` the file's: a file may hold more keys than SQLite binds.
    known = set(
        Review.objects.filter(shop=shop, source=Review.Source.IMPORT)
        .exclude(import_key="")
        .values_list("import_key", flat=True)
    )
    now = timezone.now()
    regions = [shop.country.code or ""]
    reviews = []
    for row in parsed.rows:
        if row.import_key in known:
            continue
        flags = review_flags(title=row.title, text=row.text, regions=regions, duplicate_of_another=False)
        words = spam_fingerprint(f"{row.title} {row.text}")
        reviews.append(
            Review(
                shop=shop,
                product=row.product,
                product_title=row.product.title,
                author_name=row.author,
                rating=row.rating,
                title=row.title,
                text=row.text,
                language=row.language,
                status=Review.Status.PENDING if flags else Review.Status.PUBLISHED,
                flags=[flag.code for flag in flags],
                flag_details="; ".join(f"{flag.code}: {flag.detail}" for flag in flags),
                fingerprint=hashlib.sha256(words.encode()).hexdigest() if words else "",
                source=Review.Source.IMPORT,
                import_key=row.import_key,
                submitted_at=row.submitted_at,
                published_at=None if flags else now,
                created_at=now,
            )
        )
        known.add(row.import_key)
    created = Review.objects.bulk_create(reviews, batch_size=500)  # with their ids (RETURNING)
    ReviewEvent.objects.bulk_create(
        [
            ReviewEvent(
                review=review,
                action=ReviewEvent.Action.IMPORTED,
                to_status=review.status,
                actor_kind=actor.kind,
                actor_label=actor.label[:200],
                actor_user=actor.user,
                note=review.flag_details or _("Imported from a CSV file."),
                at=now,
            )
            for review in created
        ],
        batch_size=500,
    )
    return ImportResult(created=len(reviews), already_imported=len(parsed.rows) - len(reviews))

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from merchant import services
from merchant.models import Membership, Merchant
from merchant.services.api_keys import api_key_create

OPTION_OF_FIELD = {
    "slug": "SLUG",
    "name": "--name",
    "country": "--country",
    "time_zone": "--timezone",
    "default_language": "--language",
    "currency": "--currency",
    "email": "--owner",
    "contact_email": "--owner",
}


class Command(BaseCommand):
    help = (
        "Create a shop with a secret API key and a webhook secret (printed once), and with --owner an owner "
        "login. Prints KEY=VALUE lines. "
        "The owner's password comes from OWNER_PASSWORD, else one is generated and printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short unique name used in URLs, e.g. acme-shoes")
        parser.add_argument("--name", required=True, help="The shop's display name")
        parser.add_argument("--country", required=True, help="ISO 3166 country code, e.g. DE")
        parser.add_argument("--timezone", required=True, help="IANA time zone, e.g. Europe/Berlin")
        parser.add_argument("--language", default="en", help="Default language of messages: en, de, ru, ko, zh-hans")
        parser.add_argument("--currency", default="USD", help="ISO 4217 currency code, e.g. EUR")
        parser.add_argument("--owner", metavar="EMAIL", help="Email of the owner login to create or reuse")

    def handle(self, *args, slug, name, country, timezone, language, currency, owner, **options):
        if Merchant.objects.filter(slug=slug).exists():
            raise CommandError(f"A shop with slug “{slug}” already exists; pick another slug.")
        try:
            with transaction.atomic():
                shop = services.merchant_create(
                    name=name,
                    slug=slug,
                    country=country,
                    time_zone=timezone,
                    default_language=language,
                    currency=currency,
                    contact_email=owner or "",
                )
                api_key, raw_key = api_key_create(shop=shop, name="createmerchant")
                user = password = None
                if owner:
                    user, password = services.staff_user_get_or_create(
                        email=owner, password=os.environ.get("OWNER_PASSWORD") or None
                    )
                    services.membership_set(shop=shop, user=user, role=Membership.Role.OWNER)
        except ValidationError as error:
            raise CommandError(_describe(error)) from None
        self.stdout.write(f"SHOP={shop.slug}")
        self.stdout.write(f"SHOP_ID={shop.pk}")
        self.stdout.write(f"API_KEY={raw_key}")
        self.stdout.write(f"WEBHOOK_SECRET={shop.webhook_secret}")
        if user is not None:
            self.stdout.write(f"OWNER_EMAIL={user.email}")
            if password and not os.environ.get("OWNER_PASSWORD"):
                self.stdout.write(f"OWNER_PASSWORD={password}")


def _describe(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for field, messages in error.message_dict.items():
        option = OPTION_OF_FIELD.get(field, field)
        parts.append(f"{option}: {' '.join(messages)}")
    return "; ".join(parts)

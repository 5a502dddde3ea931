"""Development logins for the demo shop, printed so a newcomer can sign in at once.

The password comes from DEV_PASSWORD, else it is generated once and kept in var/dev-login
(outside git), so every `make run` prints the same working login. Refuses to run with DEBUG off.
"""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from merchant import services
from merchant.models import ApiKey, Membership, Merchant
from merchant.services.api_keys import api_key_create, api_key_revoke

DEV_KEY_NAME = "development (make run)"

LOGINS = (
    ("admin", None),
    ("owner@demo.example", Membership.Role.OWNER),
    ("agent@demo.example", Membership.Role.AGENT),
)


class Command(BaseCommand):
    help = "Create (or reset) the development logins and a demo API key, and print them. DEBUG only."

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="demo", help="Slug of the shop the owner and agent belong to")

    def handle(self, *args, shop: str, **options):
        if not settings.DEBUG:
            raise CommandError("devlogin creates well-known logins and runs only with DEBUG=true.")
        password = os.environ.get("DEV_PASSWORD") or self._stored_password()
        User = get_user_model()
        shop_obj = Merchant.objects.filter(slug=shop).first()
        for username, role in LOGINS:
            user = User.objects.filter(username=username).first()
            if user is None:
                email = username if "@" in username else ""
                user = User.objects.create_user(username=username, email=email, password=password, is_staff=True)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            if role is None:
                if not user.is_superuser:
                    user.is_superuser = user.is_staff = True
                    user.save(update_fields=["is_superuser", "is_staff"])
            elif shop_obj is not None:
                services.membership_set(shop=shop_obj, user=user, role=role)
        self.stdout.write("LOGIN_URL=http://127.0.0.1:8000/admin/")
        for username, role in LOGINS:
            self.stdout.write(f"LOGIN={username} ({role or 'superuser'})")
        self.stdout.write(f"PASSWORD={password}")
        if shop_obj is not None:
            # A fresh key each start: the raw key is never stored, so the previous one is revoked.
            for old_key in ApiKey.objects.filter(shop=shop_obj, name=DEV_KEY_NAME, revoked_at=None):
                api_key_revoke(api_key=old_key)
            _api_key, raw_key = api_key_create(shop=shop_obj, name=DEV_KEY_NAME)
            self.stdout.write(f"SHOP={shop_obj.slug}")
            self.stdout.write(f"API_KEY={raw_key}")
            self.stdout.write(f"WEBHOOK_SECRET={shop_obj.webhook_secret}")

    def _stored_password(self) -> str:
        path = settings.VAR_DIR / "dev-login"
        if path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(9)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password)
        return password

"""Shops made before the order status page get its rule, `order_status_checked`, as a new shop gets it: off,
with the shipped copy for SMS and email in every language.

A shop that has a rule of the trigger already (on or off, whatever its name and words) keeps it and gets no
second one. The rule's defaults are copied here as they were when this migration was written (later releases
may change `journeys.triggers`); the copy is read from templates/journeys/messages/order_status_checked/.
`manage.py sync_shop_defaults` does the same for every default, through the services, on each deploy.
"""

from pathlib import Path

from django.conf import settings
from django.db import migrations

TRIGGER = "order_status_checked"
NAME = "Customer keeps checking the order"
CHANNEL, FALLBACK_CHANNEL = "sms", "email"
EXPIRE_AFTER_HOURS = 12
COPY_DIR = Path(settings.BASE_DIR) / "templates" / "journeys" / "messages" / TRIGGER


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


def _copy(channel: str, language: str) -> dict[str, str] | None:
    body = _read(COPY_DIR / f"{language}.txt")
    if not body:
        return None
    if channel != "email":
        return {"body": body, "subject": "", "html_body": ""}
    return {
        "body": body,
        "subject": _read(COPY_DIR / f"{language}.subject.txt"),
        "html_body": _read(COPY_DIR / f"{language}.html"),
    }


def existing_shops_get_status_check_rule(apps, schema_editor):
    Merchant = apps.get_model("merchant", "Merchant")
    CareRule = apps.get_model("journeys", "CareRule")
    MessageTemplate = apps.get_model("journeys", "MessageTemplate")
    have_rule = set(CareRule.objects.filter(trigger=TRIGGER).values_list("shop_id", flat=True))
    for shop in Merchant.objects.exclude(pk__in=have_rule).order_by("pk"):
        taken = CareRule.objects.filter(shop=shop, name=NAME).exists()
        rule = CareRule.objects.create(
            shop=shop,
            name=f"{NAME} ({TRIGGER})" if taken else NAME,
            trigger=TRIGGER,
            is_active=False,
            delay_amount=0,
            delay_unit="minutes",
            channel=CHANNEL,
            fallback_channel=FALLBACK_CHANNEL,
            message_class="transactional",
            send_any_hour=False,
            expire_after_hours=EXPIRE_AFTER_HOURS,
        )
        for channel in (CHANNEL, FALLBACK_CHANNEL):
            for language, _name in settings.LANGUAGES:
                copy = _copy(channel, language)
                if copy is not None:
                    MessageTemplate.objects.create(rule=rule, channel=channel, language=language, **copy)


class Migration(migrations.Migration):
    dependencies = [("journeys", "0009_message_group_statistics")]

    # Going back leaves the rules: an owner may have turned them on or edited them since.
    operations = [migrations.RunPython(existing_shops_get_status_check_rule, migrations.RunPython.noop)]

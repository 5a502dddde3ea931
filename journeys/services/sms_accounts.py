"""A shop's own Twilio account. The auth token goes in here and is never read back out to a person."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from journeys.models import SmsAccount
from merchant.models import Merchant


def sms_account_check(account: SmsAccount, *, auth_token: str = "") -> None:
    """Raise ValidationError naming the field for what the database would refuse or Twilio could not use.

    `auth_token` is the token typed now ("" keeps the saved one). Pointing a saved account at another
    account SID or API address needs the token typed again: the token must never be sent to a
    server it was not entered for.
    """
    errors: dict[str, list[str]] = {}
    if account.from_number and account.messaging_service_sid:
        errors["messaging_service_sid"] = [_("Give a sender number or a messaging service SID, not both.")]
    elif not account.from_number and not account.messaging_service_sid:
        errors["from_number"] = [_("Give a sender number or a messaging service SID.")]
    if account.daily_cap == 0:
        errors["daily_cap"] = [_("A cap of 0 would stop every message; leave it empty for no cap.")]
    if not auth_token and not account.auth_token:
        errors["auth_token"] = [_("Enter the account's auth token.")]
    if account.pk and not auth_token:
        saved = SmsAccount.objects.filter(pk=account.pk).values("account_sid", "base_url").first() or {}
        for field in ("account_sid", "base_url"):
            if saved and saved[field] != getattr(account, field):
                errors.setdefault(field, []).append(_("Enter the auth token again when you change this."))
    if account.is_active and account.shop_id:
        others = SmsAccount.objects.filter(shop_id=account.shop_id, is_active=True).exclude(pk=account.pk)
        if others.exists():
            errors["is_active"] = [_("This shop has an active SMS account already; turn that one off first.")]
    if account.shop_id and account.label:
        same_label = SmsAccount.objects.filter(shop_id=account.shop_id, label=account.label).exclude(pk=account.pk)
        if same_label.exists():
            errors["label"] = [_("This shop has an SMS account of this name already.")]
    try:
        account.clean_fields(exclude=["auth_token", "shop"])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def sms_account_save(*, account: SmsAccount, auth_token: str = "") -> SmsAccount:
    """Create or change a shop's SMS account; a non-empty `auth_token` replaces the saved one.

    Guarantees: one active account per shop, exactly one sender (number or messaging service),
    and a changed account SID or API address only with a freshly typed token. The token is
    stored as typed (requests are signed with it) and appears in no error message.
    """
    auth_token = (auth_token or "").strip()
    if account.shop_id:
        # Two people saving accounts of one shop at once: the second waits and sees the first.
        Merchant.objects.select_for_update().filter(pk=account.shop_id).exists()
    sms_account_check(account, auth_token=auth_token)
    if auth_token:
        account.auth_token = auth_token
    account.save()
    return account

"""Shops and the people who work in them."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_countries import countries

from merchant import shop_listeners
from merchant.models import Membership, Merchant
from merchant.services.field_updates import row_update

User = get_user_model()


@transaction.atomic
def merchant_create(
    *,
    name: str,
    slug: str,
    country: str,
    time_zone: str,
    default_language: str = "en",
    currency: str = "USD",
    contact_email: str = "",
    contact_phone: str = "",
    sender_name: str = "",
    is_demo: bool = False,
) -> Merchant:
    """Create a shop with what other apps set up for it (default care rules).

    Raises ValidationError naming each bad field; nothing is saved then."""
    if (country or "").upper() not in countries:
        raise ValidationError({"country": f"“{country}” is not an ISO 3166 country code such as US, DE or KR."})
    shop = Merchant(
        name=name,
        slug=slug,
        country=(country or "").upper(),
        time_zone=time_zone,
        default_language=default_language,
        currency=(currency or "").upper(),
        contact_email=contact_email,
        contact_phone=contact_phone,
        sender_name=sender_name,
        webhook_secret=secrets.token_urlsafe(32),
    )
    shop.full_clean()
    shop.save()
    shop_listeners.notify_created(shop, is_demo=is_demo)
    return shop


@transaction.atomic
def merchant_defaults_complete(*, shop: Merchant) -> Merchant:
    """Give a shop made earlier what a new shop gets now, e.g. the default rule of a trigger added since.

    Guarantees: idempotent; only what the shop is missing is created (the shop listeners' contract): a rule
    the owner has for a default's trigger, on or off, renamed or reworded, is left as it is and gets no twin.
    The model keeps no record of deleted rules, so a default rule someone deleted is created again, as a new
    shop gets it; owners turn a rule off instead (the admin gives them no delete).
    """
    shop_listeners.notify_created(shop, is_demo=False)
    return shop


def staff_user_get_or_create(*, email: str, password: str | None = None) -> tuple[Any, str | None]:
    """The login for an email address, created as staff when missing.

    Returns (user, password) where password is the one set on a new user (generated when not
    given) and None when the user already existed; an existing password is never changed.
    """
    email = User.objects.normalize_email(email).strip()
    _email_validate(email)
    user = User.objects.filter(username__iexact=email).first()
    if user is not None:
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        return user, None
    password = password or secrets.token_urlsafe(12)
    user = User.objects.create_user(username=email, email=email, password=password, is_staff=True)
    return user, password


def _email_validate(email: str) -> None:
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"“{email}” is not a valid email address."}) from None


def membership_set(*, shop: Merchant, user: Any, role: str) -> Membership:
    """Give `user` the `role` in `shop` (creating or changing the membership); staff flag ensured."""
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Role must be one of {', '.join(Membership.Role.values)}, not “{role}”."})
    current = Membership.objects.filter(user=user, shop=shop).first()
    if current and current.role == Membership.Role.OWNER and role != current.role and _owner_count(shop) <= 1:
        raise ValidationError({"role": f"{user} is the last owner of {shop}; add another owner first."})
    membership, _created = Membership.objects.update_or_create(user=user, shop=shop, defaults={"role": role})
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


MERCHANT_EDITABLE_FIELDS = (
    "name",
    "country",
    "time_zone",
    "default_language",
    "currency",
    "contact_email",
    "contact_phone",
    "sender_name",
    "storefront_origin",
)


def merchant_update(*, shop: Merchant, **fields: Any) -> Merchant:
    """Change a shop's settings. The slug is fixed: webhook URLs and links depend on it."""
    return row_update(shop, fields=fields, allowed=MERCHANT_EDITABLE_FIELDS)


def _owner_count(shop: Merchant) -> int:
    return Membership.objects.filter(shop=shop, role=Membership.Role.OWNER).count()


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a person from a shop. A shop always keeps at least one owner."""
    # Locks the shop row too, on purpose: two owners removing each other at once queue up, so the
    # shop keeps an owner.
    membership = Membership.objects.select_for_update().select_related("shop").get(pk=membership.pk)
    if membership.role == Membership.Role.OWNER and _owner_count(membership.shop) <= 1:
        raise ValidationError(f"{membership.user} is the last owner of {membership.shop}; add another owner first.")
    membership.delete()

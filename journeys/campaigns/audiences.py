"""The write path of audiences (the segments campaigns and greetings go to) and of the shop's own dates.

Guarantees: a bad value raises ValidationError naming each field and nothing is saved; everything an
audience names (tags) belongs to its shop; an audience is not changed while a campaign using it is
planning its messages (the fan-out reads it chunk by chunk, so the chunks would disagree).
"""

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from journeys.campaigns.models import Audience, Campaign, ShopDate
from merchant.models import Order, Tag

ORDER_FIELDS = ("order_statuses", "warehouses", "placed_after", "placed_before")


def audience_check(audience: Audience, *, tags: Iterable[Tag] | None = None) -> None:
    """Raise ValidationError naming each field of `audience` (and `tags`) that cannot be saved."""
    errors: dict[str, list[str]] = defaultdict(list)
    name = (audience.name or "").strip()
    if not name:
        errors["name"].append(_("Give the audience a name."))
    elif audience.shop_id:
        others = Audience.objects.filter(shop_id=audience.shop_id, name=name).exclude(pk=audience.pk)
        if others.exists():
            errors["name"].append(_("This shop already has an audience named “%s”.") % name)
    known = {code for code, _name in settings.LANGUAGES}
    unknown = [code for code in audience.languages or [] if code not in known]
    if unknown:
        errors["languages"].append(_("Unknown language: %s.") % ", ".join(map(str, unknown)))
    unknown = [status for status in audience.order_statuses or [] if status not in Order.Status.values]
    if unknown:
        errors["order_statuses"].append(_("Unknown order status: %s.") % ", ".join(map(str, unknown)))
    if any(not isinstance(w, str) or not w.strip() or len(w) > 100 for w in audience.warehouses or []):
        errors["warehouses"].append(_("Each warehouse is a name of at most 100 characters."))
    if audience.target != Audience.Target.ORDERS:
        for field in ORDER_FIELDS:
            if getattr(audience, field):
                errors[field].append(_("Only an audience of orders filters on this; pick “Orders” as the target."))
    if audience.placed_after and audience.placed_before and audience.placed_after >= audience.placed_before:
        errors["placed_before"].append(_("“Placed before” must be later than “placed after”."))
    if tags is not None and any(tag.shop_id != audience.shop_id for tag in tags):
        errors["tags"].append(_("Pick tags of this audience's shop."))
    if audience.pk:
        if audience.target == Audience.Target.ORDERS and audience.holiday_greetings.exists():
            errors["target"].append(_("A holiday greeting uses this audience: greetings go to customers, not orders."))
        planning = audience.campaigns.filter(status=Campaign.Status.PLANNING).first()
        if planning is not None:
            errors["__all__"].append(
                _("“%s” is planning its messages for this audience; change it when that is done.") % planning
            )
    try:
        audience.full_clean(exclude=["name", "languages", "order_statuses", "warehouses"])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors[field].extend(messages)
    if errors:
        raise ValidationError(dict(errors))


@transaction.atomic
def audience_save(*, audience: Audience, tags: Iterable[Tag] | None = None) -> Audience:
    """Create or change an audience (and set its tags when `tags` is given), after `audience_check`."""
    audience.name = (audience.name or "").strip()
    tags = list(tags) if tags is not None else None
    audience_check(audience, tags=tags)
    audience.languages = list(dict.fromkeys(audience.languages or []))
    audience.order_statuses = list(dict.fromkeys(audience.order_statuses or []))
    audience.warehouses = list(dict.fromkeys(w.strip() for w in audience.warehouses or []))
    audience.save()
    if tags is not None:
        audience.tags.set(tags)
    return audience


@transaction.atomic
def audience_delete(*, audience: Audience) -> None:
    """Delete an audience no campaign or greeting uses (those keep theirs: ValidationError names them)."""
    users = [*audience.campaigns.all()[:3], *audience.holiday_greetings.all()[:3]]
    if users:
        raise ValidationError(_("In use by %s; it cannot be deleted.") % ", ".join(f"“{user}”" for user in users))
    audience.delete()


@transaction.atomic
def shop_date_save(*, shop_date: ShopDate) -> ShopDate:
    """Create or change one of the shop's own dates. A yearly date needs its month and day (a real day).

    Dates approved before keep their approved date and name: approve the changed date again in the
    calendar review.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    shop_date.name = (shop_date.name or "").strip()
    if shop_date.kind == ShopDate.Kind.YEARLY:
        if not shop_date.month:
            errors["month"].append(_("A yearly date needs its month."))
        if not shop_date.day:
            errors["day"].append(_("A yearly date needs its day."))
        if shop_date.month and shop_date.day:
            days = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[shop_date.month - 1]
            if shop_date.day > days:
                errors["day"].append(_("That month has %d days.") % days)
    else:
        shop_date.month = shop_date.day = None
    if not isinstance(shop_date.names, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in shop_date.names.items()
    ):
        errors["names"].append(_("Give the names as {“de”: “Unser Geburtstag”, …}."))
    if shop_date.shop_id and shop_date.name:
        others = ShopDate.objects.filter(shop_id=shop_date.shop_id, name=shop_date.name).exclude(pk=shop_date.pk)
        if others.exists():
            errors["name"].append(_("This shop already has a date named “%s”.") % shop_date.name)
    if not errors:
        try:
            shop_date.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[field].extend(messages)
    if errors:
        raise ValidationError(dict(errors))
    shop_date.save()
    return shop_date


@transaction.atomic
def shop_date_delete(*, shop_date: ShopDate) -> None:
    """Delete one of the shop's dates. Its approved dates stay approved (with their names), so greetings already
    planned on them are unaffected; withdraw them in the calendar review to stop them."""
    shop_date.delete()

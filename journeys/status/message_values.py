"""`{{ status_update }}`: where the order is, in words, for the answer to a customer who keeps checking it.

Made per message in the message's language and the customer's time zone, from the order's parcels the
dispatcher has loaded with the batch (no query of its own), e.g. "your parcel is out for delivery (DHL,
last update 3 Mar)" or, before it ships, "we are preparing your order; it ships by 5 Mar".
"""

import zoneinfo

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from journeys.context import ValueSpec
from journeys.order_parts import order_parcels
from journeys.triggers import ORDER_STATUS_CHECKED
from merchant.models import Order, Shipment

# Marked for translation here, translated when used (in the message's language).
PARCEL_WORDS = {
    Shipment.Status.LABEL_CREATED: gettext_noop("your parcel is packed and waiting for the carrier"),
    Shipment.Status.IN_TRANSIT: gettext_noop("your parcel is on its way"),
    Shipment.Status.OUT_FOR_DELIVERY: gettext_noop("your parcel is out for delivery"),
    Shipment.Status.FAILURE: gettext_noop("the carrier could not deliver your parcel yet"),
    Shipment.Status.DELIVERED: gettext_noop("your parcel was delivered"),
}


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _day(moment, zone) -> str:
    return date_format(timezone.localtime(moment, zone), "MONTH_DAY_FORMAT")


def status_update_words(order: Order, *, language: str, time_zone: str) -> str:
    """Where `order` is, as a clause that follows "about order #1042," in `language`."""
    zone = _zone(time_zone)
    shipments = order_parcels(order)
    open_parcels = [parcel for parcel in shipments if parcel.status != Shipment.Status.DELIVERED]
    parcel = max(open_parcels or shipments, key=lambda found: found.shipped_at, default=None)
    with translation.override(language):
        if parcel is None:
            if order.ship_by and order.ship_by >= timezone.now():
                return _("we are preparing your order; it ships by %(day)s") % {"day": _day(order.ship_by, zone)}
            return _("we are preparing your order")
        what = _(PARCEL_WORDS[parcel.status])
        if parcel.last_carrier_event_at and parcel.carrier:
            return _("%(what)s (%(carrier)s, last update %(day)s)") % {
                "what": what,
                "carrier": parcel.carrier,
                "day": _day(parcel.last_carrier_event_at, zone),
            }
        if parcel.carrier:
            return _("%(what)s (%(carrier)s)") % {"what": what, "carrier": parcel.carrier}
        return what


def _status_update(message) -> str:
    if message.trigger != ORDER_STATUS_CHECKED:
        return ""
    if message.order is None:
        return "your parcel is on its way (DHL, last update 3 March)" if message.pk is None else ""
    return status_update_words(message.order, language=message.language, time_zone=message.time_zone)


STATUS_UPDATE_VALUE = ValueSpec(
    name="status_update",
    description="Customer keeps checking the order: where it is in words (“your parcel is out for delivery "
    "(DHL, last update 3 Mar)”), in the message's language",
    worst_case="der Versanddienstleister konnte Ihr Paket noch nicht zustellen (Deutsche Post DHL Paket, "
    "letzte Meldung 12. Dezember)",
    make=_status_update,
    triggers=frozenset({ORDER_STATUS_CHECKED}),
)

"""Lets other apps set up a new shop without merchant importing them.

journeys registers a listener that gives every new shop its default care rules. Listeners run
inside the transaction that creates the shop, so a shop never exists without them.

A listener creates only what the shop is missing and changes nothing it has (a rule the owner turned off
or reworded stays so): `merchant_defaults_complete` runs them again for shops made before a default
existed (`manage.py sync_shop_defaults`, run by `make setup` and on deploy).
"""

from collections.abc import Callable

from merchant.models import Merchant

ShopCreatedListener = Callable[..., None]  # (shop, *, is_demo) -> None

_on_created: list[ShopCreatedListener] = []


def register_on_created(listener: ShopCreatedListener) -> ShopCreatedListener:
    if listener not in _on_created:
        _on_created.append(listener)
    return listener


def notify_created(shop: Merchant, *, is_demo: bool = False) -> None:
    """`is_demo`: the demo shop of `make run`, which shows every feature switched on."""
    for listener in list(_on_created):
        listener(shop, is_demo=is_demo)

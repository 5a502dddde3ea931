"""Shared fixtures of the returns tests: a shop with a return policy and support settings, a delivered order."""

import pytest

from returns.tests.factories import ReturnPolicyFactory, SupportSettingsFactory, delivered_order
from returns.wiring import returns_wire


@pytest.fixture(autouse=True)
def returns_registrations():
    # Another app's test may remove a registration (a stand-in trigger, hold or handler): put ours back.
    returns_wire()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def return_policy(shop):
    return ReturnPolicyFactory(shop=shop)


@pytest.fixture
def support_settings(shop):
    return SupportSettingsFactory(shop=shop)


@pytest.fixture
def order(shop):
    """Delivered three days ago: two lines of 40.00, paid 80.00."""
    return delivered_order(shop=shop)

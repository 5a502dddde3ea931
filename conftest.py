"""Fixtures shared by every app's tests."""

import pytest

from merchant.models import Membership
from merchant.tests.factories import MembershipFactory, MerchantFactory, UserFactory

# Headless Chromium on a phone for the customer pages: `browser`, `phone_page`, `phone_page_make`.
pytest_plugins = ["merchant.tests.browser"]


@pytest.fixture
def shop(db):
    return MerchantFactory(name="Alpha Shoes", slug="alpha")


@pytest.fixture
def other_shop(db):
    return MerchantFactory(name="Beta Tea", slug="beta", country="DE", time_zone="Europe/Berlin", currency="EUR")


@pytest.fixture
def owner(shop):
    return MembershipFactory(
        shop=shop, role=Membership.Role.OWNER, user=UserFactory(username="owner@alpha.example")
    ).user


@pytest.fixture
def agent(shop):
    return MembershipFactory(
        shop=shop, role=Membership.Role.AGENT, user=UserFactory(username="agent@alpha.example")
    ).user


@pytest.fixture
def other_owner(other_shop):
    return MembershipFactory(
        shop=other_shop, role=Membership.Role.OWNER, user=UserFactory(username="owner@beta.example")
    ).user


@pytest.fixture
def superuser(db):
    return UserFactory(username="root@example.com", is_superuser=True)

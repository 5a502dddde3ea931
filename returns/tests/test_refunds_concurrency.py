"""No path pays twice: two people (real threads, each with its own database connection) acting on the same
order at the same moment on PostgreSQL, and the same clicks one after the other on any database."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from journeys.models import CareRule, Message
from journeys.services.rules import care_rules_default_create
from merchant.actors import Actor
from merchant.models import Membership
from merchant.tests.factories import MembershipFactory, UserFactory
from returns.models import Refund, RefundMethod
from returns.services.refunds import _refund_claim, refund_approve, refund_create, refund_process
from returns.tests.factories import ReturnPolicyFactory
from returns.tests.test_refunds import CountingGateway

D = Decimal
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite takes the write lock at BEGIN (IMMEDIATE), so its writers never interleave",
)


@pytest.fixture
def gateway():
    from returns.gateways import gateway_register, gateways_register_defaults

    counting = gateway_register(CountingGateway(), methods=[RefundMethod.ORIGINAL_PAYMENT])
    yield counting
    gateways_register_defaults()


@pytest.fixture
def setting(shop):
    care_rules_default_create(shop)
    CareRule.objects.filter(shop=shop, trigger="refund_processed").update(is_active=True)
    return ReturnPolicyFactory(shop=shop, refund_approval_threshold=D("20.00"))


@pytest.fixture
def second_owner(shop):
    return MembershipFactory(shop=shop, role=Membership.Role.OWNER, user=UserFactory(username="co-owner@alpha")).user


def at_once(*calls):
    """Run each call in its own thread, all released together; returns what each returned or raised."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            start.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - the refusal is what the test looks at
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def approve_and_pay(refund, user):
    refund = refund_approve(refund=refund, actor=Actor.staff(user))
    return refund_process(refund=refund, actor=Actor.staff(user))


def paid_once(order, gateway, amount: Decimal) -> None:
    assert len(gateway.calls) == 1
    order.refresh_from_db()
    assert order.refunded_total == amount
    assert order.events.filter(type__in=["partially_refunded", "refunded"], outcome="applied").count() == 1
    assert Message.objects.filter(order=order, trigger="refund_processed").count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
class TestAtTheSameMoment:
    def test_two_owners_approving_and_paying_the_same_refund_pay_once(
        self, order, agent, owner, second_owner, gateway, setting
    ):
        refund = refund_create(order=order, amount="50.00", idempotency_key="k-1", actor=Actor.staff(agent))
        assert refund.status == "pending_approval"
        results = at_once(lambda: approve_and_pay(refund, owner), lambda: approve_and_pay(refund, second_owner))
        assert all(isinstance(result, Refund) for result in results), results
        paid_once(order, gateway, D("50.00"))
        refund.refresh_from_db()
        assert refund.status == "succeeded"
        assert refund.events.filter(action="approved").count() == 1

    def test_a_second_payer_waits_for_the_first_and_then_finds_the_refund_paid(self, order, agent, owner, gateway):
        refund = refund_create(order=order, amount="30.00", idempotency_key="k-1", actor=Actor.staff(agent))
        outcome = {}

        def second_payer():
            try:
                outcome["refund"] = refund_process(refund=refund, actor=Actor.staff(owner))
            finally:
                connections.close_all()

        # The first payer holds the order's lock (it has claimed the refund but not committed yet).
        with transaction.atomic():
            _refund_claim(refund=refund, actor=Actor.staff(agent), reference="", now=None)
            racer = threading.Thread(target=second_payer)
            racer.start()
            racer.join(timeout=0.5)
            assert racer.is_alive(), "the second payer waits for the order's lock"
        racer.join(timeout=30)
        assert outcome["refund"].status == "processing"  # claimed by the first: the second paid nothing
        assert gateway.calls == []

    def test_a_double_click_creates_one_refund(self, order, agent, gateway, setting):
        def click():
            made = refund_create(order=order, amount="15.00", idempotency_key="form-7f3a", actor=Actor.staff(agent))
            return refund_process(refund=made, actor=Actor.staff(agent))

        first, second = at_once(click, click)
        assert first.pk == second.pk
        assert Refund.objects.count() == 1
        paid_once(order, gateway, D("15.00"))

    def test_two_refunds_that_together_exceed_what_was_paid_one_is_refused(self, order, agent, owner, gateway):
        def refund(key):
            return lambda: refund_create(order=order, amount="60.00", idempotency_key=key, actor=Actor.staff(agent))

        results = at_once(refund("k-1"), refund("k-2"))
        refused = [result for result in results if isinstance(result, ValidationError)]
        assert len(refused) == 1
        assert refused[0].message_dict["amount"][0].startswith("Only 20.00 USD of order")
        assert Refund.objects.count() == 1


@pytest.mark.django_db
def test_the_same_clicks_one_after_the_other_pay_once(order, agent, owner, second_owner, gateway, setting):
    refund = refund_create(order=order, amount="50.00", idempotency_key="k-1", actor=Actor.staff(agent))
    approve_and_pay(refund, owner)
    approve_and_pay(refund, second_owner)
    again = refund_create(order=order, amount="50.00", idempotency_key="k-1", actor=Actor.staff(agent))
    refund_process(refund=again, actor=Actor.staff(agent))
    assert again.pk == refund.pk
    paid_once(order, gateway, D("50.00"))

"""The order transition table, exhaustively, and what late or repeated events do."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from merchant import order_listeners, services
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import Order, OrderEvent, Shipment
from merchant.services import IfNotAllowed
from merchant.tests.factories import OrderFactory

S = Order.Status
ALL = list(S.values)
ACTOR = Actor.webhook("shopify")


def request_move(order: Order, to: str, *, if_not_allowed: IfNotAllowed, occurred_at=None) -> Order:
    """Ask the public service that leads to `to`."""
    common = {"order": order, "actor": ACTOR, "if_not_allowed": if_not_allowed, "occurred_at": occurred_at}
    if to == S.PAID:
        return services.order_mark_paid(**common)
    if to == S.PARTIALLY_SHIPPED:
        return services.order_mark_shipped(**common, carrier="UPS", tracking_number="1Z999", partial=True)
    if to == S.SHIPPED:
        return services.order_mark_shipped(**common, carrier="UPS", tracking_number="1Z999")
    if to == S.DELIVERED:
        return services.order_mark_delivered(**common)
    if to == S.CANCELLED:
        return services.order_cancel(**common, reason="customer asked")
    if to == S.PARTIALLY_REFUNDED:
        return services.order_refund_record(**common, amount=Decimal("5.00"))
    if to == S.REFUNDED:
        return services.order_refund_record(**common, amount=None)
    raise AssertionError(f"no service moves an order to {to}")


def expected_allowed(current: str, to: str) -> bool:
    return to in Order.TRANSITIONS[current] or (current == to and to in Order.REPEATABLE)


TARGETS = [status for status in ALL if status != S.PENDING_PAYMENT]


def test_no_status_leads_back_to_pending_payment():
    assert all(S.PENDING_PAYMENT not in targets for targets in Order.TRANSITIONS.values())
    assert set(Order.TRANSITIONS) == set(ALL)


@pytest.mark.django_db
@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("to", TARGETS)
def test_person_request_follows_the_table(current, to):
    # given an order in `current`
    order = OrderFactory(status=current)
    events_before = order.events.count()
    # when a person asks to move it to `to`
    if expected_allowed(current, to):
        moved = request_move(order, to, if_not_allowed=IfNotAllowed.REFUSE)
        # then it moves, with one applied event naming the actor
        assert moved.status == to
        event = order.events.get()
        assert (event.from_status, event.to_status, event.outcome) == (current, to, OrderEvent.Outcome.APPLIED)
        assert event.actor_kind == OrderEvent.ActorKind.WEBHOOK
        assert getattr(moved, Order.STATUS_TIMESTAMP[to]) is not None
    else:
        with pytest.raises(InvalidTransition, match=order.number):
            request_move(order, to, if_not_allowed=IfNotAllowed.REFUSE)
        # then nothing changed at all
        order.refresh_from_db()
        assert order.status == current
        assert order.events.count() == events_before
        assert not Shipment.objects.filter(order=order).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("to", TARGETS)
def test_platform_event_that_is_not_allowed_is_recorded_and_ignored(current, to):
    # given an order in `current`
    order = OrderFactory(status=current)
    refunded_before = order.refunded_total
    # when a platform reports a move to `to`
    moved = request_move(order, to, if_not_allowed=IfNotAllowed.RECORD)
    event = order.events.get()
    if expected_allowed(current, to):
        assert moved.status == to
        assert event.outcome == OrderEvent.Outcome.APPLIED
    else:
        # then the timeline shows it, ignored, and the order did not move
        order.refresh_from_db()
        assert order.status == current
        assert order.refunded_total == refunded_before
        # Any refund on a fully refunded order resolves to "refunded" again: a duplicate.
        already = current == to or (current == S.REFUNDED and to == S.PARTIALLY_REFUNDED)
        expected = OrderEvent.Outcome.DUPLICATE if already else OrderEvent.Outcome.NOT_ALLOWED
        assert event.outcome == expected
        assert event.from_status == current
        assert not Shipment.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_repeated_paid_event_is_recorded_as_duplicate():
    order = OrderFactory()
    services.order_mark_paid(order=order, actor=ACTOR, if_not_allowed=IfNotAllowed.RECORD)
    services.order_mark_paid(order=order, actor=ACTOR, if_not_allowed=IfNotAllowed.RECORD)
    order.refresh_from_db()
    assert order.status == S.PAID
    assert list(order.events.values_list("outcome", flat=True)) == ["applied", "duplicate"]


@pytest.mark.django_db
def test_late_paid_event_after_delivery_never_moves_the_order_back():
    # given a delivered order (the "paid" webhook was delayed)
    order = OrderFactory()
    t0 = timezone.now() - dt.timedelta(days=1)
    services.order_mark_shipped(order=order, actor=ACTOR, occurred_at=t0, if_not_allowed=IfNotAllowed.RECORD)
    services.order_mark_delivered(
        order=order, actor=ACTOR, occurred_at=t0 + dt.timedelta(hours=5), if_not_allowed=IfNotAllowed.RECORD
    )
    # when the late "paid" arrives
    services.order_mark_paid(
        order=order, actor=ACTOR, occurred_at=t0 - dt.timedelta(hours=1), if_not_allowed=IfNotAllowed.RECORD
    )
    # then the order stays delivered and the timeline says why the event was ignored
    order.refresh_from_db()
    assert order.status == S.DELIVERED
    assert order.paid_at is None
    last = order.events.order_by("-id").first()
    assert (last.type, last.outcome) == (OrderEvent.Type.PAID, OrderEvent.Outcome.STALE)


@pytest.mark.django_db
def test_event_older_than_the_current_status_is_stale_even_when_the_table_allows_it():
    # given an order paid at t2
    order = OrderFactory(placed_at=timezone.now() - dt.timedelta(days=3))
    t2 = timezone.now() - dt.timedelta(hours=2)
    services.order_mark_paid(order=order, actor=ACTOR, occurred_at=t2, if_not_allowed=IfNotAllowed.RECORD)
    # when a cancellation that happened before t2 arrives afterwards
    services.order_cancel(
        order=order, actor=ACTOR, occurred_at=t2 - dt.timedelta(minutes=30), if_not_allowed=IfNotAllowed.RECORD
    )
    # then it is recorded as stale and the order stays paid
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.cancelled_at is None
    assert order.events.order_by("-id").first().outcome == OrderEvent.Outcome.STALE


@pytest.mark.django_db
def test_person_gets_a_readable_refusal():
    order = OrderFactory(status=S.SHIPPED, number="#2001")
    with pytest.raises(InvalidTransition, match=r"Order #2001 is shipped and cannot be marked paid\."):
        services.order_mark_paid(order=order, actor=ACTOR)


@pytest.mark.django_db
def test_second_partial_shipment_adds_a_parcel_and_the_order_stays_partially_shipped():
    order = OrderFactory(status=S.PAID)
    services.order_mark_shipped(order=order, actor=ACTOR, partial=True, tracking_number="A1")
    services.order_mark_shipped(order=order, actor=ACTOR, partial=True, tracking_number="B2")
    order.refresh_from_db()
    assert order.status == S.PARTIALLY_SHIPPED
    assert sorted(order.shipments.values_list("tracking_number", flat=True)) == ["A1", "B2"]
    services.order_mark_shipped(order=order, actor=ACTOR, tracking_number="C3")
    order.refresh_from_db()
    assert order.status == S.SHIPPED
    assert order.shipments.count() == 3


@pytest.mark.django_db
def test_partial_refunds_add_up_to_a_full_refund():
    order = OrderFactory(status=S.DELIVERED, total=Decimal("90.00"))
    services.order_refund_record(order=order, actor=ACTOR, amount=Decimal("30.00"))
    services.order_refund_record(order=order, actor=ACTOR, amount=Decimal("30.00"))
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == (S.PARTIALLY_REFUNDED, Decimal("60.00"))
    services.order_refund_record(order=order, actor=ACTOR, amount=Decimal("30.00"))
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == (S.REFUNDED, Decimal("90.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "message"), [("0", "greater than zero"), ("90.01", "Only 90.00 USD")])
def test_refund_of_a_wrong_amount_is_refused_and_changes_nothing(amount, message):
    order = OrderFactory(status=S.DELIVERED, total=Decimal("90.00"))
    with pytest.raises(Exception, match=message) as raised:
        services.order_refund_record(order=order, actor=ACTOR, amount=Decimal(amount))
    assert "amount" in raised.value.message_dict
    order.refresh_from_db()
    assert (order.status, order.refunded_total, order.events.count()) == (S.DELIVERED, Decimal("0"), 0)


@pytest.mark.django_db
def test_carrier_updates_move_parcels_forward_and_deliver_the_order_with_the_last_parcel():
    order = OrderFactory(status=S.PAID)
    t0 = timezone.now() - dt.timedelta(days=2)
    services.order_mark_shipped(order=order, actor=ACTOR, occurred_at=t0, partial=True, tracking_number="A")
    services.order_mark_shipped(order=order, actor=ACTOR, occurred_at=t0 + dt.timedelta(hours=1), tracking_number="B")
    first, second = order.shipments.order_by("tracking_number")
    services.shipment_record_carrier_update(
        shipment=first, status="delivered", actor=ACTOR, occurred_at=t0 + dt.timedelta(hours=20)
    )
    # a late "in transit" for a delivered parcel is recorded and ignored
    services.shipment_record_carrier_update(
        shipment=first, status="in_transit", actor=ACTOR, occurred_at=t0 + dt.timedelta(hours=10)
    )
    first.refresh_from_db()
    order.refresh_from_db()
    assert first.status == Shipment.Status.DELIVERED
    assert order.status == S.SHIPPED
    services.shipment_record_carrier_update(
        shipment=second, status="out_for_delivery", actor=ACTOR, occurred_at=t0 + dt.timedelta(hours=21)
    )
    services.shipment_record_carrier_update(
        shipment=second, status="delivered", actor=ACTOR, occurred_at=t0 + dt.timedelta(hours=24)
    )
    order.refresh_from_db()
    assert order.status == S.DELIVERED
    assert order.delivered_at == t0 + dt.timedelta(hours=24)
    outcomes = list(order.events.values_list("type", "outcome"))
    assert ("delivered", "applied") in outcomes
    assert ("note", "stale") in outcomes
    assert ("out_for_delivery", "applied") in outcomes


@pytest.mark.django_db
def test_order_create_computes_totals_and_starts_the_timeline(shop):
    from merchant.tests.factories import CustomerFactory

    customer = CustomerFactory(shop=shop)
    order = services.order_create(
        shop=shop,
        number="#5000",
        currency="usd",
        actor=Actor.api("key alpha"),
        customer=customer,
        shipping_total=Decimal("4.90"),
        lines=[
            services.LineInput(title="Socks", quantity=3, unit_price=Decimal("5.00")),
            services.LineInput(title="Shoes", quantity=1, unit_price=Decimal("60.00")),
        ],
    )
    assert (order.subtotal, order.total, order.currency) == (Decimal("75.00"), Decimal("79.90"), "USD")
    assert order.status == S.PENDING_PAYMENT
    assert list(order.lines.values_list("title", "total")) == [("Socks", Decimal("15.00")), ("Shoes", Decimal("60.00"))]
    created = order.events.get()
    assert (created.type, created.actor_kind, created.actor_label) == ("created", "api", "key alpha")


@pytest.mark.django_db
def test_order_create_refuses_a_customer_of_another_shop(shop, other_shop):
    from merchant.tests.factories import CustomerFactory

    with pytest.raises(Exception, match="another shop"):
        services.order_create(
            shop=shop, number="#1", currency="USD", actor=ACTOR, customer=CustomerFactory(shop=other_shop)
        )
    assert not Order.objects.exists()


class TestListeners:
    @pytest.fixture
    def calls(self):
        calls: list[tuple] = []

        def in_transaction(order, event):
            calls.append(("in_transaction", order.status, event.type))

        def after_commit(*, order_id, event_id):
            calls.append(("after_commit", order_id, event_id))

        order_listeners.register_in_transaction(in_transaction)
        order_listeners.register_after_commit(after_commit)
        yield calls
        order_listeners.unregister(in_transaction)
        order_listeners.unregister(after_commit)

    @pytest.mark.django_db
    def test_side_effects_wait_for_commit_and_receive_ids(self, calls, django_capture_on_commit_callbacks):
        order = OrderFactory()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.order_mark_paid(order=order, actor=ACTOR)
        # the in-transaction listener ran with the new state; the after-commit one has not run yet
        assert calls == [("in_transaction", "paid", "paid")]
        assert len(callbacks) == 1
        callbacks[0]()
        event = order.events.get()
        assert calls[-1] == ("after_commit", order.pk, event.pk)

    @pytest.mark.django_db
    def test_ignored_events_notify_nobody(self, calls, django_capture_on_commit_callbacks):
        order = OrderFactory(status=S.DELIVERED)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.order_mark_paid(order=order, actor=ACTOR, if_not_allowed=IfNotAllowed.RECORD)
        assert calls == []
        assert callbacks == []

    @pytest.mark.django_db
    def test_a_failing_listener_rolls_the_transition_back(self):
        def explode(order, event):
            raise RuntimeError("planner failed")

        order = OrderFactory()
        order_listeners.register_in_transaction(explode)
        try:
            with pytest.raises(RuntimeError):
                services.order_mark_paid(order=order, actor=ACTOR)
        finally:
            order_listeners.unregister(explode)
        order.refresh_from_db()
        assert order.status == S.PENDING_PAYMENT
        assert not order.events.exists()

"""The planner's statements are prepared once per PostgreSQL connection and reused, and planning
stays right when prepared statements are turned off, the connection is replaced or a change is
rolled back."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journeys.models import Message
from merchant.actors import Actor
from merchant.models import Order
from merchant.services import orders

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are used on PostgreSQL only"
)


def order_payload(number: str) -> dict:
    return {
        "number": number,
        "currency": "EUR",
        "placed_at": timezone.now().isoformat(),
        "customer": {
            "external_id": f"c-{number}",
            "first_name": "Lena",
            "email": f"lena{number}@example.com",
            "phone": "+4915112345678",
            "country": "DE",
        },
        "lines": [{"external_id": "l-1", "title": "Tea", "quantity": 1, "unit_price": "9.00"}],
    }


def place_and_pay(api, external_id: str) -> None:
    assert api.put(f"orders/{external_id}", order_payload(external_id)).status_code == 201
    assert api.post(f"orders/{external_id}/events", {"type": "paid"}).json()["outcome"] == "applied"


def statuses(external_id: str) -> dict[str, str]:
    return dict(Message.objects.filter(order__external_id=external_id).values_list("trigger", "status"))


def planner_statements() -> dict[str, int]:
    """Prepared statements of this connection on the planner's tables: their text and times executed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%%journeys_message%%' OR statement LIKE '%%journeys_carerule%%'"
        )
        return dict(cursor.fetchall())


PAID = {"unpaid_reminder": "cancelled", "payment_confirmed": "scheduled"}


@pytest.mark.django_db
@postgresql_only
def test_every_order_event_reuses_the_planners_statements_prepared_once_per_connection(api):
    with CaptureQueriesContext(connection) as captured:
        for external_id in ("o-1", "o-2", "o-3"):
            place_and_pay(api, external_id)

    assert [statuses(external_id) for external_id in ("o-1", "o-2", "o-3")] == [PAID] * 3
    prepared = planner_statements()
    by_kind = {
        kind: [count for statement, count in prepared.items() if statement.startswith(start)]
        for kind, start in {"rules": "SELECT", "cancel, then rules": "WITH", "insert": "INSERT"}.items()
    }
    # 3 orders × 2 events plan one message each; each payment cancels the reminder in the same
    # statement that loads the rules.
    assert by_kind == {"rules": [3], "cancel, then rules": [3], "insert": [6]}
    assert "$1" in next(iter(prepared)), "parameters are bound by the server"
    planner_sql = [query["sql"] for query in captured if "journeys_carerule r" in query["sql"]]
    assert len(planner_sql) == 6, "prepared statements are still counted and logged as queries"
    assert "$1" not in planner_sql[0], "logged with their values"


@pytest.mark.django_db
@postgresql_only
def test_turned_off_prepared_statements_plan_the_same_messages_without_preparing_any(api, settings):
    settings.JOURNEYS_PREPARED_STATEMENTS = False

    place_and_pay(api, "o-1")

    assert statuses("o-1") == PAID
    assert planner_statements() == {}


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_reopened_connection_prepares_the_statements_again(api):
    place_and_pay(api, "o-1")
    connection.close()

    place_and_pay(api, "o-2")

    assert statuses("o-1") == statuses("o-2") == PAID
    assert sorted(planner_statements().values()) == [1, 1, 2], "rules, cancel with rules, insert twice"


@pytest.mark.django_db
def test_an_order_change_rolled_back_after_planning_leaves_the_planner_working(api):
    response = api.put("orders/o-1", order_payload("o-1"))
    assert response.status_code == 201, response.json()
    order = Order.objects.get(external_id="o-1")

    planned_before_failing = []

    def pay_then_fail():
        with transaction.atomic():
            orders.order_mark_paid(order=order, actor=Actor.system("test"))
            planned_before_failing.append(statuses("o-1"))
            raise RuntimeError("the rest of the change failed")

    with pytest.raises(RuntimeError):
        pay_then_fail()

    assert planned_before_failing == [PAID]
    assert statuses("o-1") == {"unpaid_reminder": "scheduled"}
    assert api.post("orders/o-1/events", {"type": "paid"}).json()["outcome"] == "applied"
    assert statuses("o-1") == PAID

"""The support queue in the admin: its five views with counts, the most urgent first, a constant number of
queries, the case page and what an agent does there, the CSV export, and tenancy across all of it."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journeys.models import Message
from merchant.actors import Actor
from merchant.tests.factories import MembershipFactory, UserFactory
from returns.models import AgentPresence, Case, CaseEntry, CaseEvent, CaseItem
from returns.services.cases import case_get_or_create, case_item_attach
from returns.tests.factories import DisputeFactory, MacroFactory, delivered_order

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
QUEUE = reverse("admin:returns_case_changelist")


def a_case(shop, *, due_in_hours: float | None = None, assignee=None, priority=None, **order_kwargs) -> Case:
    order = delivered_order(shop=shop, **order_kwargs)
    case, _ = case_get_or_create(shop=shop, order=order, customer=order.customer, actor=SYSTEM)
    changes = {}
    if due_in_hours is not None:
        changes["due_at"] = timezone.now() + dt.timedelta(hours=due_in_hours)
    if assignee is not None:
        changes["assignee"] = assignee
    if priority is not None:
        changes["priority"] = priority
    Case.objects.filter(pk=case.pk).update(**changes)
    case.refresh_from_db()
    return case


def a_dispute_case(shop, *, hours_overdue: float) -> Case:
    order = delivered_order(shop=shop)
    dispute = DisputeFactory(order=order, due_at=timezone.now() - dt.timedelta(hours=hours_overdue))
    item = case_item_attach(
        shop=shop, order=order, customer=order.customer, kind=CaseItem.Kind.DISPUTE,
        source=f"returns.dispute:{dispute.pk}", summary="Chargeback: product not received", actor=SYSTEM,
        due_at=dispute.due_at, dispute=dispute,
    )  # fmt: skip
    return item.case


@pytest.fixture
def logged_in_agent(client, agent, support_settings):
    client.force_login(agent)
    return client


def rows_of(response) -> list[int]:
    return [row["case"].pk for row in response.context["rows"]]


def test_the_queue_lists_the_overdue_dispute_first_then_by_due_time_then_priority(logged_in_agent, shop):
    later = a_case(shop, due_in_hours=30)
    soon_low = a_case(shop, due_in_hours=2, priority=Case.Priority.LOW)
    soon_urgent = a_case(shop, due_in_hours=2, priority=Case.Priority.URGENT)
    Case.objects.filter(pk=soon_low.pk).update(due_at=soon_urgent.due_at)
    dispute_case = a_dispute_case(shop, hours_overdue=3)
    response = logged_in_agent.get(QUEUE, {"view": "all"})
    assert response.status_code == 200
    assert rows_of(response) == [dispute_case.pk, soon_urgent.pk, soon_low.pk, later.pk]
    page = response.content.decode()
    assert "overdue 3 h" in page
    assert "due in 1 h" in page or "due in 2 h" in page
    assert 'class="sq-badge dispute">Dispute' in page


def test_the_five_views_and_their_counts(logged_in_agent, shop, agent):
    mine = a_case(shop, due_in_hours=30, assignee=agent)
    overdue = a_case(shop, due_in_hours=-1)
    soon = a_case(shop, due_in_hours=3)
    a_case(shop, due_in_hours=50)
    resolved = a_case(shop, due_in_hours=None)
    Case.objects.filter(pk=resolved.pk).update(status=Case.Status.RESOLVED, due_at=None)
    response = logged_in_agent.get(QUEUE, {"view": "mine"})
    counts = {tab["slug"]: tab["count"] for tab in response.context["tabs"]}
    assert counts == {"mine": 1, "unassigned": 3, "due_soon": 1, "overdue": 1, "all": 4}
    assert rows_of(response) == [mine.pk]
    assert rows_of(logged_in_agent.get(QUEUE, {"view": "overdue"})) == [overdue.pk]
    assert rows_of(logged_in_agent.get(QUEUE, {"view": "due_soon"})) == [soon.pk]
    assert mine.pk not in rows_of(logged_in_agent.get(QUEUE, {"view": "unassigned"}))
    assert rows_of(logged_in_agent.get(QUEUE, {"view": "all", "status": "resolved"})) == [resolved.pk]


def test_filters_by_what_a_case_gathers_and_by_priority(logged_in_agent, shop):
    dispute_case = a_dispute_case(shop, hours_overdue=1)
    urgent = a_case(shop, due_in_hours=5, priority=Case.Priority.URGENT)
    assert rows_of(logged_in_agent.get(QUEUE, {"view": "all", "kind": "dispute"})) == [dispute_case.pk]
    assert rows_of(logged_in_agent.get(QUEUE, {"view": "all", "priority": "40"})) == [urgent.pk]


def test_every_view_takes_the_same_number_of_queries_whatever_the_number_of_cases(logged_in_agent, shop, agent):
    def queries(view: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = logged_in_agent.get(QUEUE, {"view": view})
            assert response.status_code == 200
            assert response.context["rows"], "each view lists a case"
        return len(captured)

    a_dispute_case(shop, hours_overdue=2)
    a_case(shop, due_in_hours=2, assignee=agent)
    few = {view: queries(view) for view in ("mine", "unassigned", "due_soon", "overdue", "all")}
    for n in range(12):
        case = a_dispute_case(shop, hours_overdue=1) if n % 2 else a_case(shop, due_in_hours=n - 3, assignee=agent)
        CaseEntry.objects.create(case=case, kind="note", body="x")
    many = {view: queries(view) for view in few}
    assert many == few
    assert max(many.values()) <= 12


def test_a_person_sees_only_the_cases_of_their_shops(logged_in_agent, shop, other_shop):
    mine = a_case(shop, due_in_hours=1)
    theirs = a_case(other_shop, due_in_hours=-5)
    response = logged_in_agent.get(QUEUE, {"view": "all"})
    assert rows_of(response) == [mine.pk]
    assert {tab["slug"]: tab["count"] for tab in response.context["tabs"]}["all"] == 1
    assert logged_in_agent.get(reverse("admin:returns_case_change", args=[theirs.pk])).status_code == 404
    act = reverse("admin:returns_case_act", args=[theirs.pk])
    assert logged_in_agent.post(act, {"action": "claim"}).status_code == 404
    assert logged_in_agent.post(act, {"action": "note", "body": "Peek"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.assignee is None
    assert not CaseEntry.objects.filter(case=theirs).exists()


def test_the_csv_export_is_the_current_view_of_the_persons_shops_only(logged_in_agent, shop, other_shop, agent):
    overdue = a_dispute_case(shop, hours_overdue=2)
    a_case(shop, due_in_hours=20)
    a_case(other_shop, due_in_hours=-5)
    response = logged_in_agent.get(reverse("admin:returns_case_export"), {"view": "overdue"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["shop"], row["case"], row["gathers"]) for row in rows] == [("alpha", str(overdue.number), "dispute")]
    everything = logged_in_agent.get(reverse("admin:returns_case_export"), {"view": "all"})
    rows = list(csv.DictReader(io.StringIO(b"".join(everything.streaming_content).decode())))
    assert {row["shop"] for row in rows} == {"alpha"}
    assert len(rows) == 2


def test_a_customer_name_that_looks_like_a_formula_is_exported_as_text(logged_in_agent, shop):
    case = a_case(shop, due_in_hours=1)
    case.customer.first_name, case.customer.last_name = '=HYPERLINK("http://evil.example")', ""
    case.customer.save()
    response = logged_in_agent.get(reverse("admin:returns_case_export"), {"view": "all"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["customer"] == '\'=HYPERLINK("http://evil.example")'


def test_claim_note_and_reply_from_the_case_page(logged_in_agent, shop, agent):
    case = a_dispute_case(shop, hours_overdue=3)
    page = reverse("admin:returns_case_change", args=[case.pk])
    act = reverse("admin:returns_case_act", args=[case.pk])
    assert logged_in_agent.get(page).status_code == 200
    assert logged_in_agent.post(act, {"action": "claim"}).status_code == 302
    logged_in_agent.post(act, {"action": "note", "body": "Bank wants the tracking proof."})
    response = logged_in_agent.post(
        act, {"action": "reply", "body": "We have sent the tracking to your bank.", "then": "waiting_on_customer"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.assignee, case.status) == (agent, Case.Status.WAITING_ON_CUSTOMER)
    assert case.first_responded_at is not None
    note, reply = CaseEntry.objects.filter(case=case).order_by("id")
    assert (note.kind, note.author, note.message) == ("note", agent, None)
    assert (reply.kind, reply.author, reply.message.trigger, reply.message.message_class) == (
        "reply", agent, "case_reply", "transactional",
    )  # fmt: skip
    assert Message.objects.filter(trigger="case_reply").count() == 1, "a note is never sent"
    actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert {"claimed", "note", "replied", "waiting_on_customer"} <= set(actions)
    timeline = logged_in_agent.get(page).content.decode()
    assert "Bank wants the tracking proof." in timeline
    assert "We have sent the tracking to your bank." in timeline


def test_a_refused_reply_shows_why_keeps_the_words_and_sends_nothing(logged_in_agent, shop):
    case = a_case(shop, due_in_hours=3)
    case.customer.email = ""
    case.customer.phone = ""
    case.customer.save()
    act = reverse("admin:returns_case_act", args=[case.pk])
    response = logged_in_agent.post(act, {"action": "reply", "body": "Your parcel is on its way."})
    assert response.status_code == 400
    assert "The reply cannot be sent" in response.content.decode()
    assert "Your parcel is on its way." in response.content.decode()
    assert not CaseEntry.objects.filter(case=case).exists()
    empty = logged_in_agent.post(act, {"action": "reply", "body": "   "})
    assert empty.status_code == 400
    assert "Write the reply to the customer." in empty.content.decode()


def test_priority_assignment_and_status_buttons(logged_in_agent, shop, agent, owner):
    case = a_case(shop, due_in_hours=3)
    act = reverse("admin:returns_case_act", args=[case.pk])
    logged_in_agent.post(act, {"action": "priority", "priority": "40"})
    logged_in_agent.post(act, {"action": "assign", "assignee": str(owner.pk)})
    stranger = UserFactory(username="stranger")
    MembershipFactory(user=stranger)  # a member of another shop
    refused = logged_in_agent.post(act, {"action": "assign", "assignee": str(stranger.pk)})
    assert refused.status_code == 400
    logged_in_agent.post(act, {"action": "status", "to": "resolved"})
    case.refresh_from_db()
    assert (case.priority, case.assignee, case.status) == (40, owner, "resolved")
    bad = logged_in_agent.post(act, {"action": "status", "to": "waiting_on_customer"})
    assert bad.status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved", "a move the table refuses changes nothing"


def test_the_macro_picker_offers_each_macro_in_the_customers_language(logged_in_agent, shop):
    case = a_case(shop, due_in_hours=3)
    Case.objects.filter(pk=case.pk).update(language="de")
    MacroFactory(shop=shop, name="Thanks", language="en", body="Thanks {{ customer.first_name }}!")
    MacroFactory(
        shop=shop, name="Thanks", language="de", body="Danke {{ customer.first_name }} für {{ order.number }}!"
    )
    MacroFactory(shop=shop, name="Photo", language="en", body="Please send a photo, {{ customer.first_name }}.")
    page = logged_in_agent.get(reverse("admin:returns_case_change", args=[case.pk])).content.decode()
    assert f"Danke {case.customer.first_name} für {case.order.number}!" in page
    assert f"Thanks {case.customer.first_name}!" not in page
    assert f"Please send a photo, {case.customer.first_name}." in page  # only in English: the shop's language


def test_im_available_on_the_queue_page(logged_in_agent, shop, agent):
    response = logged_in_agent.post(reverse("admin:returns_case_presence"), {"shop": shop.pk, "available": "1"})
    assert response.status_code == 302
    assert AgentPresence.objects.get(shop=shop, user=agent).is_available
    logged_in_agent.post(reverse("admin:returns_case_presence"), {"shop": shop.pk, "available": "0"})
    assert not AgentPresence.objects.get(shop=shop, user=agent).is_available
    assert logged_in_agent.get(reverse("admin:returns_case_presence")).status_code == 405


def test_the_admin_index_shows_the_support_group_with_the_queue_first(logged_in_agent):
    index = logged_in_agent.get(reverse("admin:index"))
    support = next(app for app in index.context["app_list"] if app["app_label"] == "support")
    assert support["models"][0]["name"] == "Support queue"


def test_support_settings_refuse_wrong_business_hours(client, owner, shop, support_settings):
    client.force_login(owner)
    url = reverse("admin:returns_supportsettings_change", args=[support_settings.pk])
    response = client.post(
        url,
        {
            "business_hours": '{"2": [["17:00", "09:00"]]}', "first_response_hours": 8, "resolution_hours": 40,
            "closed_on_public_holidays": "on",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "Day 2: 17:00–09:00 closes before it opens." in response.content.decode()
    support_settings.refresh_from_db()
    assert support_settings.business_hours["1"] == [["09:00", "17:00"]]

"""Who gets a new case (round robin among available agents with room), claiming, and the satisfaction survey
after resolution: planned once through journeys, answered once on a signed phone page in the customer's language."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from journeys.models import Message
from merchant.actors import Actor
from merchant.models import Membership
from merchant.tests.factories import MembershipFactory, UserFactory
from returns.links.survey import survey_url
from returns.models import AgentPresence, Case, CaseEvent, SupportSettings
from returns.services.assignment import agent_presence_set, case_claim
from returns.services.cases import case_get_or_create, case_status_set
from returns.tests.factories import AgentPresenceFactory, delivered_order
from returns.triggers.cases import _survey_still_applies

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def new_case(shop, **kwargs) -> Case:
    order = delivered_order(shop=shop, **kwargs)
    case, _created = case_get_or_create(shop=shop, order=order, customer=order.customer, actor=SYSTEM)
    return case


@pytest.fixture
def team(shop, support_settings):
    SupportSettings.objects.filter(shop=shop).update(auto_assign=True)
    people = []
    for name in ("ana", "ben", "cleo"):
        user = MembershipFactory(shop=shop, role=Membership.Role.AGENT, user=UserFactory(username=name)).user
        people.append(user)
    ana, ben, cleo = people
    AgentPresenceFactory(shop=shop, user=ana)
    AgentPresenceFactory(shop=shop, user=ben)
    AgentPresenceFactory(shop=shop, user=cleo, is_available=False)
    return ana, ben, cleo


def test_new_cases_go_in_turn_to_the_available_agents(shop, team):
    ana, ben, cleo = team
    assignees = [new_case(shop).assignee for _ in range(4)]
    assert assignees == [ana, ben, ana, ben]
    case = Case.objects.filter(assignee=ana).first()
    event = CaseEvent.objects.get(case=case, action="auto_assigned")
    assert (event.actor_kind, event.details["to"]) == ("system", "ana")
    assert case.status == Case.Status.OPEN


def test_an_agent_with_no_room_left_is_skipped_and_nobody_with_room_leaves_the_case_unassigned(shop, team):
    ana, ben, _cleo = team
    AgentPresence.objects.filter(user=ana).update(max_active_cases=1)
    AgentPresence.objects.filter(user=ben).update(max_active_cases=1)
    first, second, third = new_case(shop), new_case(shop), new_case(shop)
    assert {first.assignee, second.assignee} == {ana, ben}
    assert third.assignee is None
    case_status_set(case=first, to=Case.Status.RESOLVED, actor=SYSTEM)
    assert new_case(shop).assignee == first.assignee, "a resolved case frees a place"


def test_an_agent_who_left_the_shop_gets_no_cases(shop, team):
    ana, ben, _cleo = team
    Membership.objects.filter(user=ana, shop=shop).delete()
    assert [new_case(shop).assignee for _ in range(2)] == [ben, ben]


def test_without_auto_assignment_cases_wait_in_unassigned(shop, team):
    SupportSettings.objects.filter(shop=shop).update(auto_assign=False)
    assert new_case(shop).assignee is None


def test_claiming(shop, agent, owner, support_settings):
    case = new_case(shop)
    case_claim(case=case, actor=Actor.staff(agent))
    case.refresh_from_db()
    assert case.assignee == agent
    with pytest.raises(ValidationError) as refused:
        case_claim(case=case, actor=Actor.staff(owner))
    assert "agent@alpha.example has this case already" in str(refused.value)
    outsider = MembershipFactory(user=UserFactory(username="outsider")).user
    with pytest.raises(ValidationError):
        case_claim(case=new_case(shop), actor=Actor.staff(outsider))


def test_only_owners_change_someone_elses_availability(shop, agent, owner):
    other = MembershipFactory(shop=shop, role=Membership.Role.AGENT, user=UserFactory(username="dee")).user
    with pytest.raises(ValidationError):
        agent_presence_set(shop=shop, user=other, is_available=True, actor=Actor.staff(agent))
    presence = agent_presence_set(shop=shop, user=other, is_available=True, actor=Actor.staff(owner))
    assert presence.is_available


# --- the survey ------------------------------------------------------------------------------------


@pytest.fixture
def resolved(shop, agent, support_settings):
    case = new_case(shop)
    case_status_set(case=case, to=Case.Status.RESOLVED, actor=Actor.staff(agent))
    case.refresh_from_db()
    return case


def test_resolving_plans_the_survey_once_an_hour_later(resolved, agent):
    message = Message.objects.get(trigger="satisfaction_survey")
    assert (message.step, message.customer_id, message.message_class) == (
        f"case-{resolved.pk}-survey", resolved.customer_id, "transactional",
    )  # fmt: skip
    assert message.not_before >= resolved.resolved_at + dt.timedelta(hours=1)
    assert resolved.satisfaction_requested_at is not None
    case_status_set(case=resolved, to=Case.Status.OPEN, actor=Actor.staff(agent))
    assert _survey_still_applies(message) == "the case was opened again"
    case_status_set(case=resolved, to=Case.Status.RESOLVED, actor=Actor.staff(agent))
    assert Message.objects.filter(trigger="satisfaction_survey").count() == 1


def test_no_survey_when_the_shop_turned_it_off(shop, agent, support_settings):
    SupportSettings.objects.filter(shop=shop).update(satisfaction_survey_enabled=False)
    case = new_case(shop)
    case_status_set(case=case, to=Case.Status.RESOLVED, actor=Actor.staff(agent))
    assert not Message.objects.filter(trigger="satisfaction_survey").exists()


def test_the_survey_page_is_in_the_customers_language_and_is_answered_once_by_post(client, resolved):
    resolved.customer.language = "de"
    resolved.customer.save()
    Case.objects.filter(pk=resolved.pk).update(language="")
    url = survey_url(case_id=resolved.pk, shop_id=resolved.shop_id)
    page = client.get(url + "?score=4")
    assert page.status_code == 200
    assert page["Content-Language"] == "de"
    assert 'value="4" checked' in page.content.decode()
    resolved.refresh_from_db()
    assert resolved.satisfaction_answered_at is None, "opening the page stores nothing"
    answered = client.post(url, {"score": "5", "comment": "Schnell und freundlich."})
    assert answered.status_code == 303
    assert answered["Location"] == reverse("satisfaction-survey-thanks", args=[url.rsplit("/", 1)[1]])
    again = client.post(url, {"score": "1"})
    assert again.status_code == 302
    resolved.refresh_from_db()
    assert (resolved.satisfaction_score, resolved.satisfaction_comment) == (5, "Schnell und freundlich.")
    assert CaseEvent.objects.filter(case=resolved, action="survey_answered").count() == 1
    assert client.get(url).status_code == 200  # the thanks, saying it was answered


def test_a_score_outside_one_to_five_is_refused_and_nothing_stored(client, resolved):
    url = survey_url(case_id=resolved.pk, shop_id=resolved.shop_id)
    response = client.post(url, {"score": "9"})
    assert response.status_code == 400
    assert "Choose from 1 to 5." in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.satisfaction_score is None


def test_bad_and_expired_survey_links(client, resolved, shop, other_shop):
    assert client.get("/s/made-up-token").status_code == 404
    other_shops = survey_url(case_id=resolved.pk, shop_id=other_shop.pk)
    assert client.get(other_shops).status_code == 404
    url = survey_url(case_id=resolved.pk, shop_id=shop.pk)
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        expired = client.get(url)
        assert expired.status_code == 410
        assert client.post(url, {"score": "5"}).status_code == 410
    resolved.refresh_from_db()
    assert resolved.satisfaction_score is None

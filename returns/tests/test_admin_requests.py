"""Return requests and the return policy in the admin: the list scoped to the person's shops, a request with its
items, photos and history, each step's button calling its service (errors name the field), another shop's id 404."""

from decimal import Decimal

import pytest
from django.urls import reverse

from merchant.actors import Actor
from returns.models import ReturnPolicy, ReturnReason, ReturnRequest
from returns.services.requests import LineChoice, return_request_create
from returns.tests.factories import ReturnPolicyFactory, delivered_order

pytestmark = pytest.mark.django_db
S = ReturnRequest.Status


def ask(order, quantities=(1, 1), reason=ReturnReason.TOO_SMALL) -> ReturnRequest:
    lines = order.lines.order_by("id")
    return return_request_create(
        order=order,
        lines=[LineChoice(line.pk, n) for line, n in zip(lines, quantities, strict=False)],
        reason=reason,
        comment="They pinch.",
        actor=Actor.customer("Ada"),
    )


def step_url(request: ReturnRequest, step: str) -> str:
    return reverse("admin:returns_returnrequest_step", args=[request.pk, step])


@pytest.fixture
def return_request(order, return_policy):
    return ask(order)


class TestList:
    def test_an_agent_sees_the_returns_of_their_shop_only(
        self, client, agent, shop, other_shop, return_policy, django_assert_max_num_queries
    ):
        ReturnPolicyFactory(shop=other_shop)
        mine = [ask(delivered_order(shop=shop)) for _ in range(3)]
        theirs = ask(delivered_order(shop=other_shop))
        client.force_login(agent)
        with django_assert_max_num_queries(14):
            response = client.get(reverse("admin:returns_returnrequest_changelist"))
        page = response.content.decode()
        assert response.status_code == 200
        assert all(request.number in page for request in mine)
        assert theirs.number not in page
        assert client.get(reverse("admin:returns_returnrequest_change", args=[theirs.pk])).status_code == 404
        assert client.get(step_url(theirs, "approve")).status_code == 404

    def test_the_list_filters_by_status(self, client, agent, shop, return_policy):
        waiting = ask(delivered_order(shop=shop))
        reviewed = ask(delivered_order(shop=shop), reason=ReturnReason.DAMAGED)
        client.force_login(agent)
        page = client.get(reverse("admin:returns_returnrequest_changelist") + "?status__exact=needs_review")
        assert reviewed.number in page.content.decode()
        assert waiting.number not in page.content.decode()


class TestSteps:
    def test_the_request_page_shows_items_history_and_the_steps_it_can_take(self, client, agent, return_request):
        client.force_login(agent)
        page = client.get(reverse("admin:returns_returnrequest_change", args=[return_request.pk])).content.decode()
        assert "Item 1" in page
        assert "They pinch." in page
        assert step_url(return_request, "approve") in page
        assert step_url(return_request, "decline") in page
        assert step_url(return_request, "inspect") not in page, "nothing arrived yet"

    def test_approving_moves_it_and_names_the_person_in_the_history(self, client, agent, return_request):
        client.force_login(agent)
        response = client.post(step_url(return_request, "approve"), {"note": "fine"})
        assert response.status_code == 302
        return_request.refresh_from_db()
        assert return_request.status == S.APPROVED
        event = return_request.events.get(to_status=S.APPROVED)
        assert (event.actor_user, event.note) == (agent, "fine")

    def test_a_decline_without_a_message_or_with_one_too_long_names_the_field_and_changes_nothing(
        self, client, agent, return_request
    ):
        client.force_login(agent)
        response = client.post(step_url(return_request, "decline"), {"code": "condition", "message": ""})
        assert response.status_code == 400
        assert response.context["forms"][0].errors["message"]
        response = client.post(step_url(return_request, "decline"), {"code": "", "message": "x" * 501})
        assert set(response.context["forms"][0].errors) == {"code", "message"}
        return_request.refresh_from_db()
        assert return_request.status == S.REQUESTED
        client.post(step_url(return_request, "decline"), {"code": "condition", "message": "Worn outside, sorry."})
        return_request.refresh_from_db()
        assert (return_request.status, return_request.decline_message) == (S.DECLINED, "Worn outside, sorry.")

    def test_in_transit_received_and_inspected_per_line(self, client, agent, return_request):
        client.force_login(agent)
        client.post(step_url(return_request, "approve"), {"note": ""})
        client.post(step_url(return_request, "in_transit"), {"carrier": "DHL", "tracking_number": "JJD42"})
        client.post(step_url(return_request, "received"), {"note": ""})
        first, second = return_request.lines.order_by("id")
        form = client.get(step_url(return_request, "inspect"))
        assert form.status_code == 200
        response = client.post(
            step_url(return_request, "inspect"),
            {
                f"line-{first.pk}-disposition": "accept",
                f"line-{first.pk}-restock": "on",
                f"line-{second.pk}-disposition": "reject",
                f"line-{second.pk}-note": "stained",
            },
        )
        assert response.status_code == 302
        return_request.refresh_from_db()
        assert (return_request.status, return_request.return_tracking_number) == (S.INSPECTED, "JJD42")
        assert return_request.estimated_refund == Decimal("40.00")
        second.refresh_from_db()
        assert (second.disposition, second.inspection_note) == ("reject", "stained")

    def test_a_partial_acceptance_of_a_single_item_is_refused_on_the_page(self, client, agent, return_request):
        client.force_login(agent)
        client.post(step_url(return_request, "approve"), {"note": ""})
        client.post(step_url(return_request, "received"), {"note": ""})
        first, second = return_request.lines.order_by("id")
        response = client.post(
            step_url(return_request, "inspect"),
            {
                f"line-{first.pk}-disposition": "partial",
                f"line-{first.pk}-accepted_quantity": "1",
                f"line-{second.pk}-disposition": "accept",
            },
        )
        assert response.status_code == 400
        assert "a partial acceptance takes between 1 and 0" in response.content.decode()
        return_request.refresh_from_db()
        assert return_request.status == S.RECEIVED

    def test_a_step_the_lifecycle_does_not_allow_is_refused_with_a_message(self, client, agent, return_request):
        client.force_login(agent)
        response = client.post(step_url(return_request, "received"), {"note": ""}, follow=True)
        assert "cannot become received" in response.content.decode()
        return_request.refresh_from_db()
        assert return_request.status == S.REQUESTED

    def test_approve_selected_from_the_list(self, client, agent, shop, return_policy):
        requests = [ask(delivered_order(shop=shop)) for _ in range(2)]
        client.force_login(agent)
        client.post(
            reverse("admin:returns_returnrequest_changelist"),
            {"action": "approve_selected", "_selected_action": [r.pk for r in requests]},
        )
        assert set(ReturnRequest.objects.values_list("status", flat=True)) == {S.APPROVED}


class TestPolicyAdmin:
    def url(self, policy):
        return reverse("admin:returns_returnpolicy_change", args=[policy.pk])

    def data(self, **overrides):
        data = {
            "window_days": "30",
            "non_returnable_categories": "gift cards\nfood",
            "auto_approve_reasons": ["damaged"],
            "restocking_fee_percent": "10",
            "refund_methods": ["original_payment"],
            "return_instructions": "Send to 1 Harbour Road.",
            "instructions_valid_days": "28",
            "auto_approve_max_amount": "",
            "review_above_amount": "",
            "refund_approval_threshold": "",
        }
        data.update(overrides)
        return data

    def test_an_owner_changes_the_policy(self, client, owner, return_policy):
        client.force_login(owner)
        response = client.post(self.url(return_policy), self.data())
        assert response.status_code == 302
        return_policy.refresh_from_db()
        assert return_policy.non_returnable_categories == ["gift cards", "food"]
        assert return_policy.restocking_fee_percent == Decimal("10")

    def test_contradicting_amounts_are_refused_naming_the_field(self, client, owner, return_policy):
        client.force_login(owner)
        response = client.post(
            self.url(return_policy), self.data(auto_approve_max_amount="500", review_above_amount="100")
        )
        assert response.status_code == 200
        assert "auto_approve_max_amount" in response.context["adminform"].form.errors
        return_policy.refresh_from_db()
        assert return_policy.auto_approve_max_amount is None

    def test_an_agent_may_read_the_policy_but_not_change_it(self, client, agent, return_policy):
        client.force_login(agent)
        assert client.get(self.url(return_policy)).status_code == 200
        client.post(self.url(return_policy), self.data(window_days="5"))
        assert ReturnPolicy.objects.get(pk=return_policy.pk).window_days == 30

    def test_another_shops_policy_is_not_found(self, client, owner, other_shop):
        client.force_login(owner)
        assert client.get(self.url(ReturnPolicyFactory(shop=other_shop))).status_code == 404

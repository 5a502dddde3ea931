"""The demo shop (`manage.py seed_demo`) fills the dashboard's dispute win rate and SLA attainment panels with its
past weeks of decided disputes and answered cases."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from returns.demo_history import EXTERNAL_ID_PREFIX, PAST_CASES, PAST_DISPUTES, SOURCE_PREFIX
from returns.models import Case, Dispute

pytestmark = pytest.mark.django_db


def _seed() -> dict[str, str]:
    out = io.StringIO()
    call_command("seed_demo", customers=40, orders=200, stdout=out)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines() if "=" in line)


def test_the_demo_fills_the_dispute_and_sla_panels_once(admin_client):
    first = _seed()

    # The voice of the customer page over its default period, the last 30 days
    page = admin_client.get(reverse("admin:insight_voice"))
    panels = {panel.name: content for panel, content in page.context["panels"]}

    assert (first["PAST_DISPUTES_CREATED"], first["PAST_SUPPORT_CASES_CREATED"]) == (
        str(len(PAST_DISPUTES)),
        str(len(PAST_CASES)),
    )
    # 3 won and 2 lost in the period; one still with the provider, and the demo queue's open one, not decided
    everything = panels["dispute_win_rate"].table.rows[-1]
    assert (everything["won"], everything["lost"], everything["win_rate"]) == (3, 2, 60.0)
    assert panels["dispute_win_rate"].headline == "60%"
    assert (
        Dispute.objects.filter(status=Dispute.Status.SUBMITTED, external_id__startswith=EXTERNAL_ID_PREFIX).count() == 1
    )
    # Of the history's 8 cases, 6 were answered and 6 resolved in time; other demo cases may fall due too
    history = Case.objects.filter(items__source__startswith=SOURCE_PREFIX)
    answered_in_time = [case.first_responded_at <= case.first_response_due_at for case in history]
    resolved_in_time = [case.resolved_at <= case.resolution_due_at for case in history]
    assert (answered_in_time.count(True), resolved_in_time.count(True)) == (6, 6)
    first_response, resolution = panels["sla"].table.rows
    assert first_response["due"] >= 8
    assert first_response["met"] >= 6
    assert resolution["due"] >= 8
    assert resolution["met"] >= 6
    assert first_response["missed"] > 0
    assert resolution["missed"] > 0
    assert panels["sla"].headline != "—"

    second = _seed()

    assert (second["PAST_DISPUTES_CREATED"], second["PAST_SUPPORT_CASES_CREATED"]) == ("0", "0")

"""The support queue in headless Chromium (merchant/tests/browser.py): an agent logs in, sees the overdue
dispute at the top of the queue, claims it, adds an internal note, picks a macro and sends a reply; the
customer later answers the satisfaction survey on a phone. Screenshots: docs/screenshots/support-queue*.png."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Message
from merchant.actors import Actor
from merchant.tests.browser import admin_login
from returns.links.survey import survey_url
from returns.models import Case, CaseEntry, CaseItem
from returns.services.cases import case_customer_message_add, case_item_attach, case_status_set
from returns.tests.factories import DisputeFactory, MacroFactory, delivered_order

PASSWORD = "correct horse battery staple"
SYSTEM = Actor.system("test")


@pytest.fixture
def busy_queue(shop, support_settings):
    """A few cases of Alpha Shoes: customer messages due later, and one chargeback whose answer is 3 hours late."""
    shop.contact_email = "help@alpha.example"
    shop.save(update_fields=["contact_email"])
    for text, hours in (
        ("Can I swap the sneakers for a 42?", 5),
        ("Where is my parcel? Tracking has not moved for days.", 20),
        ("The sole came off after a week.", 30),
    ):
        order = delivered_order(shop=shop)
        entry = case_customer_message_add(
            shop=shop, order=order, customer=order.customer, body=text, channel="sms", actor=SYSTEM
        )
        Case.objects.filter(pk=entry.case_id).update(due_at=timezone.now() + dt.timedelta(hours=hours))
    order = delivered_order(shop=shop)
    dispute = DisputeFactory(order=order, amount=order.total, due_at=timezone.now() - dt.timedelta(hours=3, minutes=5))
    item = case_item_attach(
        shop=shop, order=order, customer=order.customer, kind=CaseItem.Kind.DISPUTE,
        source=f"returns.dispute:{dispute.pk}", summary=f"Chargeback of {order.total} USD: product not received",
        actor=SYSTEM, due_at=dispute.due_at, dispute=dispute,
    )  # fmt: skip
    MacroFactory(
        shop=shop, name="Dispute: proof sent", language="en",
        body="Hi {{ customer.first_name }}, we have sent the delivery proof for order {{ order.number }} to your bank.",
    )  # fmt: skip
    return item.case


def test_an_agent_sees_the_overdue_dispute_first_claims_it_adds_a_note_and_replies(
    desktop_page, agent, busy_queue, screenshots
):
    page = desktop_page
    admin_login(page, username=agent.username, password=PASSWORD)
    page.goto("/admin/returns/case/")
    expect(page.get_by_role("heading", name="Support queue")).to_be_visible()
    expect(page.get_by_role("link", name="Overdue 1")).to_be_visible()
    first = page.locator("tr.sq-row").first
    expect(first).to_contain_text(f"#{busy_queue.number}")
    expect(first).to_contain_text("Dispute")
    expect(first).to_contain_text("overdue 3 h")
    page.screenshot(path=screenshots / "support-queue.png", full_page=True)

    first.get_by_role("link", name=f"#{busy_queue.number}").click()
    expect(page.get_by_text("Chargeback of")).to_be_visible()
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("You have this case now.")).to_be_visible()

    page.get_by_label("Note (only your team sees it)").fill("Carrier confirms delivery; proof uploaded to Shopify.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()

    page.get_by_label("Macro").select_option(label="Dispute: proof sent (en)")
    reply = page.get_by_label("Reply", exact=True)
    expect(reply).to_have_value(f"Hi {busy_queue.customer.first_name}, we have sent the delivery proof for order "
                                f"{busy_queue.order.number} to your bank.")  # fmt: skip
    expect(page.locator("#sc-reply-hint")).to_contain_text("1 SMS part")
    page.screenshot(path=screenshots / "support-queue-case.png", full_page=True)
    page.get_by_role("button", name="Send and wait for the customer").click()
    expect(page.get_by_text("Reply sent to the customer.")).to_be_visible()

    case = Case.objects.get(pk=busy_queue.pk)
    assert (case.assignee, case.status) == (agent, Case.Status.WAITING_ON_CUSTOMER)
    note, reply_entry = CaseEntry.objects.filter(case=case, kind__in=["note", "reply"]).order_by("id")
    assert note.kind == "note"
    assert note.message is None
    assert reply_entry.message.trigger == "case_reply"
    assert Message.objects.filter(trigger="case_reply", customer=case.customer).count() == 1
    # The dispute's deadline still leads: the bank does not wait for the customer.
    assert case.due_at == busy_queue.due_at


def test_a_customer_answers_the_satisfaction_survey_on_a_phone(phone_page, busy_queue, agent, screenshots):
    case_status_set(case=busy_queue, to=Case.Status.RESOLVED, actor=Actor.staff(agent))
    page = phone_page
    page.goto(survey_url(case_id=busy_queue.pk, shop_id=busy_queue.shop_id))
    expect(page.get_by_role("heading", level=1)).to_have_text("How did we do?")
    page.locator("label[for=score-5]").tap()
    page.get_by_label("Anything you want to tell us? (optional)").fill("Quick and kind, thank you.")
    page.screenshot(path=screenshots / "support-queue-survey-phone.png", full_page=True)
    page.get_by_role("button", name="Send").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    case = Case.objects.get(pk=busy_queue.pk)
    assert (case.satisfaction_score, case.satisfaction_comment) == (5, "Quick and kind, thank you.")

"""The support queue of the demo shop (`manage.py seed_demo`): an available agent, macros in two languages,
and a handful of cases in every state, made through the services so their clocks and history are real."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from merchant.actors import Actor
from merchant.models import Membership, Merchant, Order
from merchant.services.shops import membership_set
from returns.models import AgentPresence, Case, CaseEntry, Dispute, Macro, SupportSettings
from returns.services.assignment import agent_presence_set
from returns.services.case_messages import case_note_add
from returns.services.cases import case_customer_message_add, case_priority_set, case_status_set
from returns.services.disputes import dispute_create

DEMO_AGENT = "agent@demo.example"  # the login `manage.py devlogin` gives a password to
MACROS = [
    ("Refund on its way", "en", "Hi {{ customer.first_name }}, your refund for order {{ order.number }} is on its way: "
     "it shows on your statement within 5 business days. {{ agent.first_name }} at {{ shop.name }}"),
    ("Refund on its way", "de", "Hallo {{ customer.first_name }}, Ihre Erstattung für Bestellung "
     "{{ order.number }} ist unterwegs und erscheint innerhalb von 5 Werktagen auf Ihrem Konto. "
     "{{ agent.first_name }} von {{ shop.name }}"),
    ("Ask for a photo", "en", "Hi {{ customer.first_name }}, could you send us a photo of the item and its label? "
     "Then we can sort out order {{ order.number }} right away."),
    ("Ask for a photo", "de", "Hallo {{ customer.first_name }}, könnten Sie uns ein Foto des Artikels und des Etiketts "
     "schicken? Dann kümmern wir uns sofort um Bestellung {{ order.number }}."),
]  # fmt: skip
DEMO_MESSAGES = [
    ("The jacket is too small, can I swap it for an L?", None),
    ("My parcel says delivered but it is not here.", Case.Priority.HIGH),
    ("Thanks, the replacement arrived!", None),
    ("Wrong colour sent: I ordered blue.", None),
    ("Can I still return the boots? It has been 20 days.", Case.Priority.LOW),
]


def cases_demo_step(shop: Merchant, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Create what is missing of the demo's support queue; counts of what was created."""
    now = now or timezone.now()
    system = Actor.system("demo data")
    user, made_user = get_user_model().objects.get_or_create(
        username=DEMO_AGENT, defaults={"email": DEMO_AGENT, "is_staff": True}
    )
    if made_user:
        user.set_unusable_password()  # `manage.py devlogin` sets the password
        user.save(update_fields=["password"])
    if not Membership.objects.filter(user=user, shop=shop).exists():
        membership_set(shop=shop, user=user, role=Membership.Role.AGENT)
    # The demo shows round robin at work: new cases go to the available agent.
    SupportSettings.objects.get_or_create(shop=shop, defaults={"auto_assign": True})
    presences = 0
    if not AgentPresence.objects.filter(shop=shop, user=user, is_available=True).exists():
        agent_presence_set(shop=shop, user=user, is_available=True, actor=system)
        presences = 1
    macros = 0
    for name, language, body in MACROS:
        _macro, created = Macro.objects.get_or_create(shop=shop, name=name, language=language, defaults={"body": body})
        macros += created
    cases = 0
    # Other demo steps (returns) put their own cases in the queue: these are the customers' messages.
    if not CaseEntry.objects.filter(case__shop=shop, kind=CaseEntry.Kind.CUSTOMER_MESSAGE).exists():
        orders = list(
            Order.objects.filter(shop=shop, customer__isnull=False, status=Order.Status.DELIVERED).order_by("-id")[
                : len(DEMO_MESSAGES)
            ]
        )
        for index, (order, (text, priority)) in enumerate(zip(orders, DEMO_MESSAGES, strict=False)):
            at = now - dt.timedelta(hours=30 - index * 6)
            entry = case_customer_message_add(
                shop=shop, order=order, customer=order.customer, body=text, channel="sms", actor=system, at=at
            )
            case = entry.case
            if priority:
                case_priority_set(case=case, priority=priority, actor=system, now=at)
            if index == 0:
                case_note_add(case=case, actor=system, body="Sizes L are back in stock on Friday.", now=at)
            if index == 2:
                case_status_set(case=case, to=Case.Status.RESOLVED, actor=system, now=at + dt.timedelta(hours=1))
            cases += 1
        if orders:
            # A marketplace chargeback answered by tomorrow: the queue puts it first as its deadline nears.
            order = orders[-1]
            dispute_create(
                shop=shop,
                actor=system,
                order=order,
                provider=Dispute.Provider.MARKETPLACE,
                external_id=f"DEMO-{order.pk}",
                reason_category=Dispute.ReasonCategory.NOT_RECEIVED,
                amount=order.total,
                due_at=now + dt.timedelta(hours=20),
                now=now,
            )
    return {"support_cases": cases, "support_macros": macros, "support_agents_available": presences}

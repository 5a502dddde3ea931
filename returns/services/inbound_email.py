"""Customer emails into the support queue: a Mailgun route's post, stored first, then filed.

The webhook (`returns.email_webhooks`) verifies the post and stores its form fields as a
`merchant.InboundEvent` (source `anymail`, topic `inbound.mailgun`), deduplicated by the email's
Message-Id, before `inbound_email_apply` files it: the sender is found among the shop's customers by
address (a new address becomes a customer, as in a help desk), the order by a number the subject or
text names ("#1001") among the sender's own orders, else their latest; then
`returns.services.auto_reply.customer_message_file` puts it on the case and answers it while the
team is away. Spam (Mailgun's flag) is kept but not filed; automatic mail (out-of-office, bounces,
RFC 3834 Auto-Submitted) is never answered, so two auto-responders cannot write to each other forever.
"""

import json
from email.utils import getaddresses, parseaddr
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from merchant.actors import Actor
from merchant.models import Customer, InboundEvent, Merchant
from merchant.services.customers import customer_create
from merchant.services.inbound import IgnoreEvent, Outcome, handles, json_body
from returns.models import EmailInbox
from returns.services.auto_reply import customer_for_sender, customer_message_file, order_find

SOURCE = InboundEvent.Source.ANYMAIL  # email events, in anymail's vocabulary ("inbound")
TOPIC = "inbound.mailgun"
REQUIRED_FIELDS = ("sender", "recipient", "body-plain")
# Senders that are machines: never answered, never made customers.
MACHINE_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"})
AUTOMATIC_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})


class Email:
    """The fields of one stored Mailgun post, with its MIME headers looked up by name (any case)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        headers: dict[str, str] = {}
        try:
            pairs = json.loads(fields.get("message-headers") or "[]")
        except ValueError:
            pairs = []
        for pair in pairs if isinstance(pairs, list) else []:
            if isinstance(pair, list) and len(pair) == 2:
                headers.setdefault(str(pair[0]).lower(), str(pair[1]))
        self.headers = headers

    def get(self, name: str) -> str:
        """A posted field, else the MIME header of that name."""
        value = self.fields.get(name)
        if value is None:
            value = self.fields.get(name.lower(), self.headers.get(name.lower(), ""))
        return str(value or "")

    @property
    def name_and_address(self) -> tuple[str, str]:
        """Who wrote: the From header's name and address, else the envelope sender's."""
        name, address = parseaddr(self.get("from"))
        if "@" not in address:
            name, address = "", parseaddr(self.get("sender"))[1]
        return name.strip(), address.strip().lower()

    @property
    def recipients(self) -> set[str]:
        found = getaddresses([self.get("recipient"), self.get("To")])
        return {address.strip().lower() for _name, address in found if address}

    @property
    def text(self) -> str:
        """What the customer wrote: the text without the quoted earlier messages when Mailgun found them."""
        return (self.get("stripped-text") or self.get("body-plain")).strip()

    @property
    def is_spam(self) -> bool:
        return self.get("X-Mailgun-Sflag").strip().lower() == "yes"

    @property
    def is_automatic(self) -> bool:
        """Written by a machine (RFC 3834 Auto-Submitted, Precedence, auto-responder headers, a daemon)."""
        auto_submitted = self.get("Auto-Submitted").strip().lower()
        if auto_submitted and auto_submitted != "no":
            return True
        if self.get("Precedence").strip().lower() in AUTOMATIC_PRECEDENCE:
            return True
        if self.get("X-Autoreply") or self.get("X-Autorespond"):
            return True
        return self.name_and_address[1].split("@")[0] in MACHINE_LOCAL_PARTS

    def entry_body(self) -> str:
        """The subject and the words, and what could not be kept (attachments are not stored)."""
        parts = [self.get("subject").strip(), self.text]
        attachments = self.fields.get("attachments") or []
        if attachments:
            names = ", ".join(str(item.get("name") or "?") for item in attachments)
            parts.append(f"[{len(attachments)} attachment(s) not kept: {names}]")
        return "\n\n".join(part for part in parts if part)


def email_customers(*, shop: Merchant, address: str) -> list[Customer]:
    return list(Customer.objects.filter(shop=shop, email__iexact=address).order_by("id")) if address else []


def _customer_from_address(*, shop: Merchant, name: str, address: str) -> Customer:
    first, _space, last = name.partition(" ")
    try:
        validate_email(address)
    except ValidationError:
        raise IgnoreEvent(f"The sender “{address}” is not an email address to answer.") from None
    return customer_create(shop=shop, email=address, first_name=first[:150], last_name=last[:150])


@handles(SOURCE, TOPIC, parse=json_body)
def inbound_email_apply(event: InboundEvent, fields: Any) -> Outcome:
    """A customer's email a Mailgun route posted for `event.shop`: filed on its case, answered while closed."""
    if not isinstance(fields, dict):
        raise IgnoreEvent("Not a Mailgun post.")
    shop = event.shop
    email = Email(fields)
    if email.is_spam:
        raise IgnoreEvent("Mailgun marked it as spam; kept here, not filed in the queue.")
    inbox = EmailInbox.objects.filter(shop=shop).first()
    if inbox is not None and inbox.address and inbox.address.lower() not in email.recipients:
        raise IgnoreEvent(f"Sent to {', '.join(sorted(email.recipients))}, not to this shop's inbox {inbox.address}.")
    name, address = email.name_and_address
    customers = email_customers(shop=shop, address=address)
    automatic = email.is_automatic
    if not customers:
        if automatic:
            raise IgnoreEvent(f"Automatic mail from {address}, who is not a customer; not filed.")
        customers = [_customer_from_address(shop=shop, name=name, address=address)]
    order = order_find(shop=shop, customers=customers, text=f"{email.get('subject')}\n{email.text}")
    customer = customer_for_sender(shop=shop, customers=customers, order=order)
    filed = customer_message_file(
        shop=shop,
        customer=customer,
        order=order,
        channel="email",
        body=email.entry_body(),
        source=f"merchant.inboundevent:{event.pk}",
        actor=Actor.customer(f"Email from {address}"),
        at=event.received_at,
        auto_reply=not automatic,
    )
    return Outcome(
        order=order,
        result={
            "customer": customer.pk if customer else None,
            "case": filed.entry.case_id,
            "auto_reply": filed.auto_reply.message_id if filed.auto_reply else None,
            "why_no_auto_reply": filed.why_no_auto_reply,
        },
    )


def email_inbox_save(*, inbox: EmailInbox, signing_key: str = "") -> EmailInbox:
    """Create or change a shop's inbox. A new `signing_key` replaces the saved one; "" keeps it (it is never
    shown again). Raises ValidationError naming the field for a bad address; nothing is saved then."""
    if signing_key.strip():
        inbox.signing_key = signing_key.strip()
    inbox.full_clean()
    inbox.save()
    return inbox

"""What every message provider offers the dispatcher: send, classify errors, rate limit.

A provider turns an `Envelope` (what to send, to whom) into a `SendResult` and never raises
for a failure it can classify: the dispatcher decides from `SendResult.outcome` whether the
message is sent, retried later with backoff, or given up for good.
"""

import enum
from dataclasses import dataclass, field


class Outcome(enum.StrEnum):
    SENT = "sent"  # accepted by the provider
    RETRY = "retry"  # transient: timeout, 429, 5xx; try again later
    PERMANENT = "permanent"  # will never work as it is: never retried
    INVALID_ADDRESS = "invalid_address"  # permanent, and the address should be flagged
    OPTED_OUT = "opted_out"  # the recipient told the provider to stop: suppress and record it
    DEFERRED = "deferred"  # not attempted: its rate-limit slot had passed; back to the queue, no attempt used


@dataclass(frozen=True)
class PushTarget:
    """A browser's push subscription and how long and how urgently the push service should keep a notification."""

    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    ttl: int = 86400  # seconds the push service keeps it for a browser that is offline
    urgency: str = "normal"  # RFC 8030: very-low, low, normal, high
    tag: str = ""  # a later notification with the same tag replaces this one on the screen


@dataclass(frozen=True)
class Envelope:
    message_id: int
    channel: str
    to: str
    body: str
    subject: str = ""
    html_body: str = ""
    sender_name: str = ""
    reply_to: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Sent to providers that deduplicate requests, and as metadata to those that do not.
    idempotency_key: str = ""
    # Push only: the subscription it goes to, and the page a tap on the notification opens.
    push: PushTarget | None = None
    url: str = ""


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_message_id: str = ""
    error_code: str = ""
    error: str = ""
    retry_after: float | None = None  # seconds, from Retry-After


@dataclass(frozen=True)
class RateLimit:
    """At most `per_second` sends in any one second, across every dispatcher (journeys.services.pacing)."""

    per_second: float


class Provider:
    """Base class. Subclasses set `name` and implement `send`."""

    name: str = ""
    # True when resending after a crash cannot duplicate (the provider deduplicates on our key).
    deduplicates: bool = False
    rate_limit: RateLimit | None = None
    # Most messages per day through this provider account (e.g. a 10DLC carrier cap); None: no cap.
    daily_cap: int | None = None
    # How many sends may be in flight at once from one dispatcher.
    concurrency: int = 1

    @property
    def pace_key(self) -> str:
        """Identifies the provider account whose rate limit and daily cap this provider shares."""
        return self.name

    @property
    def paced(self) -> bool:
        return self.rate_limit is not None or self.daily_cap is not None

    def send(self, envelope: Envelope) -> SendResult:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called when a dispatcher stops."""

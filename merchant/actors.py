"""Who did something: every state change names its actor on the timeline."""

from dataclasses import dataclass
from typing import Any

from merchant.models import OrderEvent

Kind = OrderEvent.ActorKind


@dataclass(frozen=True)
class Actor:
    kind: str
    user: Any = None
    label: str = ""

    @classmethod
    def staff(cls, user: Any) -> "Actor":
        return cls(kind=Kind.USER, user=user, label=user.get_username())

    @classmethod
    def system(cls, label: str) -> "Actor":
        return cls(kind=Kind.SYSTEM, label=label)

    @classmethod
    def webhook(cls, label: str) -> "Actor":
        return cls(kind=Kind.WEBHOOK, label=label)

    @classmethod
    def api(cls, label: str) -> "Actor":
        return cls(kind=Kind.API, label=label)

    @classmethod
    def rule(cls, label: str) -> "Actor":
        return cls(kind=Kind.RULE, label=label)

    @classmethod
    def customer(cls, label: str) -> "Actor":
        return cls(kind=Kind.CUSTOMER, label=label)

    @property
    def is_person(self) -> bool:
        return self.kind == Kind.USER

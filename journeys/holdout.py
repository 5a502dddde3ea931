"""Holdout groups: which customers a rule leaves out on purpose, so its effect can be measured.

A rule with `holdout_percent` > 0 still plans a message for every customer it matches, but for a
random share of them the message is recorded as suppressed (reason `holdout`) and never sent. The
dashboard (journeys.insight.rules) compares what those customers did afterwards with the others.

The draw is a hash of the rule and the customer (the order when there is no customer), not a random
number: the same customer always lands in the same group of a rule, in every process and after every
restart, so a customer held out of the unpaid reminder is held out of each of their reminders, and
re-planning never moves anyone. Each rule draws on its own (the rule's id is in the hash), so being held
out of one rule says nothing about another.
"""

import hashlib

# Buckets of the draw: 0..9999, so a share is exact to a hundredth of a percent.
BUCKETS = 10_000


def holdout_bucket(*, rule_id: int, customer_id: int | None, order_id: int | None = None) -> int:
    """The customer's bucket (0..9999) for the rule: stable across calls, processes and Python versions."""
    subject = f"customer:{customer_id}" if customer_id is not None else f"order:{order_id}"
    # sha256, not hash(): Python salts hash() of strings per process.
    digest = hashlib.sha256(f"holdout:rule:{rule_id}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def holdout_includes(*, rule_id: int, percent: int, customer_id: int | None, order_id: int | None = None) -> bool:
    """Whether the customer (or the order, without one) is in the rule's holdout group of `percent` percent."""
    if percent <= 0 or (customer_id is None and order_id is None):
        return False
    return holdout_bucket(rule_id=rule_id, customer_id=customer_id, order_id=order_id) < percent * BUCKETS // 100

"""The dashboard's rule performance page: counts per rule and variant, SMS cost, outcomes against the holdout group
with their confidence interval, focusing one rule, tenancy and CSV. Figures of a hand-seeded outbox, worked out by hand.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from journeys.insight.scope import InsightScope
from journeys.insight.stats import lift_interval, points, wilson_interval
from journeys.models import SmsAccount
from journeys.tests.factories import CareRuleFactory, MessageFactory
from merchant.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC
PAGE = "/admin/insight/rules/"
PERIOD = {"start": "2026-03-01", "end": "2026-03-31"}
PLANNED = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # when the rows were written, inside the period
DUE = PLANNED + dt.timedelta(hours=1)  # the reminder's not_before: placed + 60 minutes
NOW = dt.datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


def _message(rule, *, language="en", channel="sms", paid_at=None, **fields):
    """One planned message of `rule` for a customer of its own (one order each, placed when the row was planned)."""
    customer = CustomerFactory(shop=rule.shop)
    order = OrderFactory(shop=rule.shop, customer=customer, placed_at=PLANNED, paid_at=paid_at)
    values = {
        "shop": rule.shop,
        "rule": rule,
        "trigger": rule.trigger,
        "customer": customer,
        "order": order,
        "channel": channel,
        "language": language,
        "created_at": PLANNED,
        "anchor_at": PLANNED,
        "not_before": DUE,
        "send_at": DUE,
        "status": "scheduled",
    }
    return MessageFactory(**{**values, **fields})


def _sent(**fields):
    return {"status": "sent", "sent_at": DUE, **fields}


def _delivered(**fields):
    return {"status": "delivered", "sent_at": DUE, "delivered_at": DUE, **fields}


HELD_OUT = {"status": "suppressed", "reason": "holdout", "holdout": True}
PAID_AFTER = DUE + dt.timedelta(hours=5)
PAID_BEFORE = DUE - dt.timedelta(minutes=30)


@pytest.fixture
def seeded(shop, other_shop):
    """Two rules of the shop with messages of every kind (see each line), and one rule of another shop."""
    reminder = CareRuleFactory(shop=shop, name="Unpaid reminder", trigger="unpaid_reminder", holdout_percent=10)
    delivered = CareRuleFactory(
        shop=shop, name="Delivered", trigger="delivered", channel="email", fallback_channel="sms", is_active=True
    )
    # Reminder, SMS in English: six in the compared group, three held out, one from before the holdout, one not due.
    t1 = _message(reminder, holdout=False, paid_at=PAID_AFTER, **_delivered(segments=2, clicked_at=DUE))
    _message(reminder, holdout=False, paid_at=PAID_AFTER, **_delivered(segments=2))
    _message(reminder, holdout=False, **_sent(status="failed", segments=1))
    _message(reminder, holdout=False, paid_at=PAID_BEFORE, status="cancelled", reason="order_changed")
    _message(reminder, holdout=False, status="suppressed", reason="opted_out")
    _message(reminder, holdout=False, **_delivered(segments=1))
    _message(reminder, paid_at=PAID_AFTER, **HELD_OUT)
    h2 = _message(reminder, **HELD_OUT)
    _message(reminder, paid_at=PAID_BEFORE, **HELD_OUT)
    _message(reminder, holdout=None, paid_at=PAID_AFTER, **_delivered(segments=1))
    _message(reminder, holdout=False, not_before=NOW + dt.timedelta(days=4), send_at=NOW + dt.timedelta(days=4))
    # Reminder, SMS in German: one compared, one held out.
    _message(reminder, language="de", holdout=False, paid_at=PAID_AFTER, **_delivered(segments=3))
    _message(reminder, language="de", **HELD_OUT)
    # Ordered again: t1's customer 10 days after the reminder was due; h2's only after 40 days (too late).
    OrderFactory(shop=shop, customer=t1.customer, placed_at=DUE + dt.timedelta(days=10))
    OrderFactory(shop=shop, customer=h2.customer, placed_at=DUE + dt.timedelta(days=40))
    # Planned before the period: not counted.
    _message(reminder, holdout=False, created_at=PLANNED - dt.timedelta(days=30), **_delivered(segments=9))
    # Delivered, email, no holdout: one clicked, one too late.
    _message(delivered, channel="email", **_delivered(clicked_at=DUE))
    _message(delivered, channel="email", status="expired", reason="expired_window")
    # Another shop's rule and message: never counted, its id answers 404.
    foreign = CareRuleFactory(shop=other_shop, name="Their reminder", trigger="unpaid_reminder", is_active=True)
    _message(foreign, holdout=False, **_delivered(segments=5))
    SmsAccount.objects.create(
        shop=shop,
        label="Twilio",
        account_sid="AC" + "1" * 32,
        auth_token="token",  # noqa: S106 - a test credential
        from_number="+15005550006",
        price_per_segment=Decimal("0.0450"),
        price_currency="EUR",
    )
    return {"reminder": reminder, "delivered": delivered, "foreign": foreign}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _csv(client, name, **params) -> list[list[str]]:
    import csv
    import io

    response = client.get(PAGE, {**PERIOD, **params, "csv": name})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


class TestFigures:
    def test_each_rule_shows_what_it_planned_sent_and_cost(self, client, owner, seeded, clock):
        client.force_login(owner)

        rows = _csv(client, "rules")

        header, delivered, reminder = rows  # by trigger: delivered, unpaid_reminder
        assert header[:4] == ["Rule", "Trigger", "Holdout (%)", "Planned"]
        figures = dict(zip(header, reminder, strict=True))
        # 11 English + 2 German rows planned in March; the row from February is left out.
        assert figures["Planned"] == "13"
        assert figures["Sent"] == "6"  # t1, t2, the failed one, t6, the one from before the holdout, German
        assert figures["Delivered"] == "5"
        assert figures["Delivered of sent (%)"] == "83.3"  # 5 / 6
        assert figures["Clicked"] == "1"
        assert figures["Clicked of delivered (%)"] == "20.0"  # 1 / 5
        assert (figures["Failed"], figures["Suppressed"], figures["Cancelled"], figures["Expired"]) == (
            "1",
            "1",
            "1",
            "0",
        )
        assert figures["Held out"] == "4"
        assert figures["Waiting"] == "1"
        assert figures["SMS segments"] == "10"  # 2 + 2 + 1 + 1 + 1 + 3
        assert (figures["Estimated SMS cost"], figures["Currency"]) == ("0.45", "EUR")  # 10 × 0.045
        assert figures["Holdout (%)"] == "10"
        other = dict(zip(header, delivered, strict=True))
        assert (other["Rule"], other["Planned"], other["Sent"], other["Clicked"], other["Expired"]) == (
            "Delivered",
            "2",
            "1",
            "1",
            "1",
        )
        assert (other["SMS segments"], other["Estimated SMS cost"]) == ("0", "0.00"), "email costs nothing here"

    def test_variants_and_the_reasons_messages_were_not_sent(self, client, owner, seeded, clock):
        client.force_login(owner)

        variants = _csv(client, "variants")
        not_sent = _csv(client, "not_sent")

        assert [row[:6] for row in variants] == [
            ["Rule", "Channel", "Language", "Planned", "Sent", "Delivered"],
            ["Delivered", "Email", "English", "2", "1", "1"],
            ["Unpaid reminder", "SMS", "Deutsch", "2", "1", "1"],
            ["Unpaid reminder", "SMS", "English", "11", "5", "4"],
        ]
        assert not_sent == [
            ["Rule", "Channel", "Language", "Why", "Messages"],
            ["Delivered", "Email", "English", "Too late to send", "1"],
            ["Unpaid reminder", "SMS", "English", "Customer opted out", "1"],
            ["Unpaid reminder", "SMS", "English", "Order changed", "1"],
        ]

    def test_outcomes_compare_the_rules_groups_with_a_confidence_interval(self, client, owner, seeded, clock):
        client.force_login(owner)

        rows = _csv(client, "outcomes")

        header = rows[0]
        table = {(row[0], row[1], row[2]): dict(zip(header, row, strict=True)) for row in rows[1:]}
        paid = table[("Unpaid reminder", "All variants", "Paid after the reminder")]
        # Compared: 6 English due (the one not due yet and the one from before the holdout left out) + 1 German.
        # Paid after the reminder was due: t1, t2 and the German one; of the held out only one of four.
        assert (paid["Compared group"], paid["Compared rate (%)"]) == ("7", "42.9")
        assert [paid[key] for key in header[3:10]] == ["7", "3", "42.9", "4", "1", "25.0", "17.9"]
        # Newcombe's interval, from Wilson intervals of 3/7 (0.1582, 0.7495) and 1/4 (0.0456, 0.6994).
        assert (paid["95% CI from"], paid["95% CI to"]) == ("-34.6", "55.9")
        assert paid["Reading"] == "not distinguishable from no effect (+17.9 points, 95% CI −34.6 to +55.9)"
        english = table[("Unpaid reminder", "SMS · English", "Paid after the reminder")]
        assert [english[key] for key in header[3:10]] == ["6", "2", "33.3", "3", "1", "33.3", "0.0"]
        again = table[("Unpaid reminder", "All variants", "Ordered again within 30 days")]
        assert [again[key] for key in header[3:10]] == ["7", "1", "14.3", "4", "0", "0.0", "14.3"]
        # A rule without a holdout group has nothing to compare with, so no rows.
        assert ("Delivered", "All variants", "Ordered again within 30 days") not in table
        assert ("Delivered", "All variants", "Paid after the reminder") not in table, "only for unpaid reminders"

    def test_the_page_shows_rules_with_their_variants_and_charts_in_few_queries(
        self, client, owner, seeded, clock, django_assert_num_queries
    ):
        client.force_login(owner)

        # Session, user, the admin's zone and roles, the person's shops, the admin's two permission lookups;
        # then the page's own: rules, counts, SMS prices, and the two outcomes that have groups to compare.
        with django_assert_num_queries(12):
            response = client.get(PAGE, PERIOD)

        html = response.content.decode()
        assert response.status_code == 200
        assert "Rule performance" in html
        assert html.count('<tr class="variant">') == 3
        assert "↳ SMS · Deutsch" in html
        assert "0.45 EUR" in html
        assert 'aria-label="Messages sent and clicked per rule"' in html
        assert 'aria-label="Lift against the holdout group, points (95% CI)"' in html
        assert "Their reminder" not in html

    def test_a_csv_of_counts_skips_the_outcomes_queries(self, client, owner, seeded, clock, django_assert_num_queries):
        client.force_login(owner)

        # The page's 12 less the admin's two permission lookups and the two outcomes compared
        with django_assert_num_queries(8):
            rules = client.get(PAGE, {**PERIOD, "csv": "rules"})
        # The outcomes' own CSV still reads them
        with django_assert_num_queries(10):
            outcomes = client.get(PAGE, {**PERIOD, "csv": "outcomes"})

        assert rules.status_code == outcomes.status_code == 200
        assert len(rules.content.decode().splitlines()) > 1
        assert any("All variants" in line for line in outcomes.content.decode().splitlines())


class TestFocusAndTenancy:
    def test_one_rule_in_focus_shows_only_its_figures(self, client, owner, seeded, clock):
        client.force_login(owner)

        response = client.get(PAGE, {**PERIOD, "rule": seeded["delivered"].pk})
        rows = _csv(client, "rules", rule=seeded["delivered"].pk)

        assert response.status_code == 200
        assert "Showing one rule: Delivered" in response.content.decode()
        assert [row[0] for row in rows] == ["Rule", "Delivered"]

    def test_another_shops_rule_answers_404(self, client, owner, seeded, clock):
        client.force_login(owner)

        assert client.get(PAGE, {**PERIOD, "rule": seeded["foreign"].pk}).status_code == 404
        assert client.get(PAGE, {**PERIOD, "rule": "x"}).status_code == 404
        assert client.get(PAGE, {**PERIOD, "rule": seeded["foreign"].pk, "csv": "rules"}).status_code == 404

    def test_the_other_shops_owner_sees_only_their_rule(self, client, other_owner, seeded, clock):
        client.force_login(other_owner)

        rows = _csv(client, "rules")

        assert [(row[0], row[3]) for row in rows] == [("Rule", "Planned"), ("Their reminder", "1")]
        assert client.get(PAGE, {**PERIOD, "rule": seeded["reminder"].pk}).status_code == 404

    def test_without_an_sms_account_the_default_price_applies(self, client, owner, seeded, clock, settings):
        SmsAccount.objects.all().delete()
        settings.JOURNEYS_SMS_PRICE_PER_SEGMENT = "0.0083"
        settings.JOURNEYS_SMS_PRICE_CURRENCY = "USD"
        client.force_login(owner)

        header, _delivered_row, reminder = _csv(client, "rules")

        figures = dict(zip(header, reminder, strict=True))
        assert (figures["Estimated SMS cost"], figures["Currency"]) == ("0.08", "USD")  # 10 × 0.0083 = 0.083


class TestSelector:
    def test_a_period_without_messages_still_lists_active_rules_with_zeros(self, shop, seeded, clock):
        from journeys.insight.rules import rule_performance_list, rule_performance_rules

        scope = InsightScope((shop.pk,), dt.date(2026, 1, 1), dt.date(2026, 1, 31), UTC)
        rules = rule_performance_rules(scope=scope)

        performance = rule_performance_list(scope=scope, rules=rules)

        assert [(item.rule.name, item.counts.planned, item.variants) for item in performance] == [("Delivered", 0, [])]


class TestConfidenceInterval:
    """Newcombe (1998), Statistics in Medicine 17:873, table II, method 10: his examples, to four places."""

    @pytest.mark.parametrize(
        ("groups", "low", "high"),
        [
            ((56, 70, 48, 80), 0.0524, 0.3339),
            ((9, 10, 3, 10), 0.1705, 0.8090),
            ((6, 7, 2, 7), 0.0582, 0.8062),
            ((5, 56, 0, 29), -0.0381, 0.1926),
            ((0, 10, 0, 20), -0.1611, 0.2775),
            ((10, 10, 0, 20), 0.6791, 1.0000),
        ],
    )
    def test_matches_the_published_hybrid_score_intervals(self, groups, low, high):
        lift = lift_interval(*groups)

        assert round(lift.low, 4) == low
        assert round(lift.high, 4) == high

    def test_wilson_interval_of_a_proportion(self):
        # 81 of 263: Wilson's interval 0.2553 to 0.3662 (Newcombe 1998, 17:857, example).
        low, high = wilson_interval(81, 263)

        assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)

    def test_reading_in_plain_words(self):
        assert lift_interval(56, 70, 48, 80).describe() == "+20.0 points (95% CI +5.2 to +33.4)"
        assert lift_interval(48, 80, 56, 70).describe() == "−20.0 points (95% CI −33.4 to −5.2)"
        assert lift_interval(0, 10, 0, 20).describe() == (
            "not distinguishable from no effect (0.0 points, 95% CI −16.1 to +27.8)"
        )
        assert points(0.0421) == "+4.2"

    def test_no_interval_without_both_groups(self):
        assert lift_interval(3, 7, 0, 0) is None
        assert lift_interval(0, 0, 1, 4) is None

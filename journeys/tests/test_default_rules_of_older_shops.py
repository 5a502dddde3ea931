"""Shops made before a default rule existed get it, once, without touching what their owners have: through the
service (`merchant_defaults_complete`, run by `manage.py sync_shop_defaults`) and the data migration that gave
every existing shop the rule of `order_status_checked`."""

from importlib import import_module

import pytest
from django.apps import apps
from django.core.management import call_command

from journeys.models import CareRule, MessageTemplate
from journeys.services.rules import care_rule_save, care_rules_default_create, default_copy, message_template_save
from journeys.triggers import ORDER_STATUS_CHECKED
from merchant.services import merchant_create, merchant_defaults_complete

pytestmark = pytest.mark.django_db

STATUS_RULE_NAME = "Customer keeps checking the order"
migration = import_module("journeys.migrations.0010_existing_shops_get_status_check_rule")


def rule_set(shop) -> set[tuple[str, bool]]:
    return set(CareRule.objects.filter(shop=shop).values_list("trigger", "is_active"))


@pytest.fixture
def older_shop(shop):
    """A shop made before the order status page: the order-care rules of its day, owner's edits included."""
    care_rules_default_create(shop)
    CareRule.objects.filter(shop=shop, trigger=ORDER_STATUS_CHECKED).delete()
    return shop


def status_rules(shop):
    return CareRule.objects.filter(shop=shop, trigger=ORDER_STATUS_CHECKED)


class TestService:
    def test_an_older_shop_gets_the_missing_rule_off_with_the_shipped_copy_once(self, older_shop):
        merchant_defaults_complete(shop=older_shop)
        merchant_defaults_complete(shop=older_shop)

        [rule] = status_rules(older_shop)
        assert (rule.name, rule.is_active, rule.channel, rule.fallback_channel) == (
            STATUS_RULE_NAME,
            False,
            "sms",
            "email",
        )
        assert rule.templates.count() == 2 * 5
        german_sms = rule.templates.get(channel="sms", language="de")
        assert german_sms.body == default_copy(ORDER_STATUS_CHECKED, "de")["body"]

    def test_a_shop_made_before_any_default_ends_with_what_a_new_shop_gets(self, shop):
        new_shop = merchant_create(name="Fresh", slug="fresh", country="US", time_zone="UTC")
        assert not CareRule.objects.filter(shop=shop).exists()

        merchant_defaults_complete(shop=shop)

        assert rule_set(shop) == rule_set(new_shop)
        assert (
            MessageTemplate.objects.filter(rule__shop=shop).count()
            == MessageTemplate.objects.filter(rule__shop=new_shop).count()
        )

    def test_the_owners_renamed_rule_of_the_trigger_is_kept_as_it_is_and_gets_no_twin(self, older_shop):
        mine = care_rule_save(
            rule=CareRule(shop=older_shop, name="Worried customers", trigger=ORDER_STATUS_CHECKED, is_active=True)
        )
        message_template_save(
            template=MessageTemplate(
                rule=mine, channel="sms", language="en", body="Still on its way, {{ customer.first_name }}"
            )
        )

        merchant_defaults_complete(shop=older_shop)

        assert list(status_rules(older_shop)) == [mine]
        mine.refresh_from_db()
        assert (mine.name, mine.is_active) == ("Worried customers", True)
        assert list(mine.templates.values_list("body", flat=True)) == ["Still on its way, {{ customer.first_name }}"]

    def test_copy_the_owner_edited_in_other_rules_stays_and_a_rule_turned_on_stays_on(self, older_shop):
        delivered = CareRule.objects.get(shop=older_shop, trigger="delivered")
        template = delivered.templates.get(channel="email", language="en")
        template.body = "Delivered! Enjoy it."
        message_template_save(template=template)
        delivered.is_active = True
        care_rule_save(rule=delivered)

        merchant_defaults_complete(shop=older_shop)

        template.refresh_from_db()
        delivered.refresh_from_db()
        assert (template.body, delivered.is_active) == ("Delivered! Enjoy it.", True)
        assert delivered.templates.count() == 2 * 5  # no template added either

    def test_a_default_name_another_rule_took_gets_the_trigger_added(self, older_shop):
        delivered = CareRule.objects.get(shop=older_shop, trigger="delivered")
        delivered.name = STATUS_RULE_NAME
        care_rule_save(rule=delivered)

        merchant_defaults_complete(shop=older_shop)

        [rule] = status_rules(older_shop)
        assert rule.name == f"{STATUS_RULE_NAME} ({ORDER_STATUS_CHECKED})"
        delivered.refresh_from_db()
        assert (delivered.name, delivered.trigger) == (STATUS_RULE_NAME, "delivered")

    def test_the_command_completes_every_shop(self, older_shop, other_shop, capsys):
        call_command("sync_shop_defaults")
        call_command("sync_shop_defaults")

        assert status_rules(older_shop).count() == status_rules(other_shop).count() == 1
        assert "Shop defaults in sync (2 shops)." in capsys.readouterr().out


class TestDataMigration:
    def run(self):
        migration.existing_shops_get_status_check_rule(apps, schema_editor=None)

    def test_gives_each_shop_without_the_rule_the_same_rule_a_new_shop_gets(self, older_shop):
        new_shop = merchant_create(name="Fresh", slug="fresh", country="US", time_zone="UTC")

        self.run()
        self.run()

        fields = ("name", "is_active", "delay_amount", "delay_unit", "channel", "fallback_channel", "message_class")
        fields += ("send_any_hour", "expire_after_hours", "window_start", "window_end", "holdout_percent")
        [migrated] = status_rules(older_shop).values(*fields)
        assert migrated == status_rules(new_shop).values(*fields).get()

        def copy(shop):
            return set(
                MessageTemplate.objects.filter(rule__in=status_rules(shop)).values_list(
                    "channel", "language", "subject", "body", "html_body"
                )
            )

        assert copy(older_shop) == copy(new_shop)

    def test_leaves_a_shop_that_has_a_rule_of_the_trigger_alone(self, older_shop):
        mine = care_rule_save(rule=CareRule(shop=older_shop, name="Worried customers", trigger=ORDER_STATUS_CHECKED))

        self.run()

        assert list(status_rules(older_shop)) == [mine]
        assert not mine.templates.exists()

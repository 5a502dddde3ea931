"""The FAQ in the admin: scoped to the person's shops, ordered per language, with a preview of the auto-reply by
SMS and email in a language; and each shop's inbound email inbox with its write-only signing key."""

import pytest
import time_machine
from django.urls import reverse

from journeys.models import CareRule, MessageTemplate
from returns.models import EmailInbox, FaqEntry
from returns.services.auto_reply import auto_reply_setup_for_shop, faq_demo_create
from returns.tests.customer_messages import FRIDAY_NIGHT, WEDNESDAY_MORNING, berlin_shop_setup

pytestmark = pytest.mark.django_db
KEY = "key-typed-once-never-shown-again"


def url(name: str, *args) -> str:
    return reverse(f"admin:returns_{name}", args=args)


@pytest.fixture
def alpha(shop):
    return berlin_shop_setup(shop)


class TestFaqList:
    def test_a_person_sees_only_their_shops_entries_in_order_per_language(
        self, client, owner, alpha, other_shop, django_assert_max_num_queries
    ):
        FaqEntry.objects.create(shop=other_shop, language="en", question="Beta's secret question", answer="x")
        client.force_login(owner)

        with django_assert_max_num_queries(12):
            page = client.get(url("faqentry_changelist"), {"language__exact": "en"}).content.decode()

        assert page.index("Where is my parcel?") < page.index("How do I return an item?")
        assert "Beta's secret question" not in page
        assert "Preview the auto-reply" in page

    def test_another_shops_entry_answers_404(self, client, owner, alpha, other_shop):
        theirs = FaqEntry.objects.create(shop=other_shop, language="en", question="Beta's", answer="x")
        client.force_login(owner)

        assert client.get(url("faqentry_change", theirs.pk)).status_code == 404

    def test_an_owner_adds_an_entry_and_an_agent_may_only_read(self, client, owner, agent, alpha):
        client.force_login(owner)
        response = client.post(
            url("faqentry_add"),
            {"shop": alpha.pk, "language": "ru", "question": "Где посылка?", "answer": "По ссылке.", "position": 0,
             "is_active": "on"},
        )  # fmt: skip
        assert response.status_code == 302
        assert FaqEntry.objects.filter(shop=alpha, language="ru").count() == 1

        client.force_login(agent)
        assert client.get(url("faqentry_changelist")).status_code == 200
        assert client.get(url("faqentry_add")).status_code == 403


class TestPreview:
    def test_the_preview_shows_the_auto_reply_by_sms_and_email_in_the_chosen_language(self, client, owner, alpha):
        client.force_login(owner)
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            page = client.get(url("faqentry_preview"), {"shop": alpha.pk, "language": "de"}).content.decode()

        sms, email = page.split('class="module auto-reply-email"')
        assert "Wir sind ab Montag 09:00 wieder erreichbar und antworten Ihnen bis Montag 13:00." in sms
        assert "Wo ist mein Paket? Nutzen Sie den Link zur Sendungsverfolgung." in sms
        assert "2 segments" in sms
        assert "Ihre Nachricht ist angekommen – Alpha Shoes" in email
        assert "Wie sende ich etwas zurück?" in email

    def test_during_business_hours_it_shows_what_a_customer_writing_after_closing_would_get(self, client, owner, alpha):
        client.force_login(owner)
        with time_machine.travel(WEDNESDAY_MORNING, tick=False):
            page = client.get(url("faqentry_preview"), {"language": "en"}).content.decode()

        assert "we are back Thursday 09:00; expect an answer by Thursday 13:00" in page

    def test_the_shops_own_copy_is_what_the_preview_shows(self, client, owner, alpha):
        auto_reply_setup_for_shop(alpha)
        MessageTemplate.objects.filter(rule__shop=alpha, rule__trigger="auto_reply", language="en").update(
            body="Closed. Back {{ support_back_at }}."
        )
        client.force_login(owner)
        with time_machine.travel(FRIDAY_NIGHT, tick=False):
            page = client.get(url("faqentry_preview"), {"language": "en"}).content.decode()

        assert "Closed. Back Monday 09:00." in page

    def test_another_shop_answers_404(self, client, owner, alpha, other_shop):
        client.force_login(owner)

        assert client.get(url("faqentry_preview"), {"shop": other_shop.pk}).status_code == 404
        assert client.get(url("faqentry_preview"), {"language": "xx"}).status_code == 404


class TestInbox:
    def test_the_signing_key_is_saved_but_never_shown_and_empty_keeps_it(self, client, owner, alpha):
        client.force_login(owner)
        response = client.post(
            url("emailinbox_add"),
            {"shop": alpha.pk, "address": "support@alpha.example", "is_active": "on", "new_signing_key": KEY},
        )
        assert response.status_code == 302
        inbox = EmailInbox.objects.get(shop=alpha)
        assert inbox.signing_key == KEY

        page = client.get(url("emailinbox_change", inbox.pk)).content.decode()
        assert KEY not in page
        assert "saved (hidden)" in page
        assert "/webhooks/email/inbound/alpha" in page

        client.post(
            url("emailinbox_change", inbox.pk),
            {"address": "help@alpha.example", "is_active": "on", "new_signing_key": ""},
        )
        inbox.refresh_from_db()
        assert (inbox.address, inbox.signing_key) == ("help@alpha.example", KEY)

    def test_agents_do_not_see_inboxes_and_another_shops_answers_404(self, client, owner, agent, alpha, other_shop):
        theirs = EmailInbox.objects.create(shop=other_shop, signing_key="x")
        client.force_login(owner)
        assert client.get(url("emailinbox_change", theirs.pk)).status_code == 404

        client.force_login(agent)
        assert client.get(url("emailinbox_changelist")).status_code == 403


def test_the_demo_shop_gets_faq_entries_in_two_languages_once(shop):
    assert faq_demo_create(shop) == {"faq_entries": 6}
    assert faq_demo_create(shop) == {"faq_entries": 0}
    assert set(FaqEntry.objects.filter(shop=shop).values_list("language", flat=True)) == {"en", "de"}


def test_setting_a_shop_up_twice_keeps_one_rule(shop):
    auto_reply_setup_for_shop(shop)
    auto_reply_setup_for_shop(shop)

    assert CareRule.objects.filter(shop=shop, trigger="auto_reply").count() == 1

"""NPS and the shop's own survey questions: asked at most once per interval (90 days by default, per shop), the
shop's questions in the customer's language with their answers kept, and the NPS panel per week or month."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse

from reviews.links import review_url
from reviews.models import NpsResponse, ReviewRequest, SurveyAnswer, SurveyQuestion, SurveyQuestionText
from reviews.services.submissions import NpsAnswer, review_page_submit
from reviews.tests.factories import DELIVERED_AT, ReviewRequestItemFactory, delivered_order

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
ASKED_AT = DELIVERED_AT + 7 * DAY
NPS_QUESTION = "How likely are you to recommend Alpha Shoes to a friend?"


@pytest.fixture
def clock():
    with time_machine.travel(ASKED_AT + DAY, tick=False) as traveller:
        yield traveller


def page_path(request: ReviewRequest) -> str:
    with time_machine.travel(ASKED_AT, tick=False):
        return urlsplit(review_url(request_id=request.pk, shop_id=request.shop_id)).path


@pytest.fixture
def asked(review_shop, customer, products):
    order = delivered_order(review_shop, customer, [products["socks"]])
    request = ReviewRequest.objects.get(order=order)
    return request, page_path(request)


def earlier_answer(review_shop, customer, *, days_ago: int, score: int = 9) -> NpsResponse:
    """The customer answered the NPS question on another request's page `days_ago` days before the clock."""
    other = ReviewRequestItemFactory(request__shop=review_shop, request__customer=customer).request
    return NpsResponse.objects.create(
        shop=review_shop, request=other, customer=customer, score=score,
        submitted_at=ASKED_AT + DAY - days_ago * DAY,
    )  # fmt: skip


def question(shop, label, kind="text", position=1, **texts) -> SurveyQuestion:
    """texts: en=("prompt", ["choice", ...]) per language."""
    made = SurveyQuestion.objects.create(shop=shop, label=label, kind=kind, position=position)
    for language, (prompt, choices) in texts.items():
        SurveyQuestionText.objects.create(
            question=made, language=language.replace("_", "-"), prompt=prompt, choices="\n".join(choices)
        )
    return made


class TestHowOftenTheCustomerIsAsked:
    def test_the_nps_question_is_left_off_when_the_customer_answered_within_90_days(
        self, client, asked, review_shop, customer, clock
    ):
        request, path = asked
        earlier_answer(review_shop, customer, days_ago=30)
        page = client.get(path).content.decode()
        assert NPS_QUESTION not in page
        assert "Wool socks" in page
        item = request.items.get()
        response = client.post(path, {f"item-{item.pk}-rating": "5", "nps-score": "3", "nps-comment": "meh"})
        assert response.status_code == 303
        assert not NpsResponse.objects.filter(request=request).exists(), "not asked, so not stored"

    def test_an_answer_older_than_the_interval_lets_the_question_back_and_the_shop_sets_the_interval(
        self, client, asked, review_shop, customer, policy, clock
    ):
        _request, path = asked
        earlier_answer(review_shop, customer, days_ago=91)
        assert NPS_QUESTION in client.get(path).content.decode()
        earlier_answer(review_shop, customer, days_ago=10)
        assert NPS_QUESTION not in client.get(path).content.decode()
        policy.nps_interval_days = 0  # every time
        policy.save()
        assert NPS_QUESTION in client.get(path).content.decode()

    def test_the_customer_can_still_change_the_answer_they_gave_on_this_page(
        self, client, asked, review_shop, customer, clock
    ):
        request, path = asked
        client.post(path, {"nps-score": "4", "nps-comment": "Slow delivery"})
        clock.shift(DAY)
        page = client.get(path).content.decode()
        assert NPS_QUESTION in page
        client.post(path, {"nps-score": "8", "nps-comment": "Fine after all"})
        assert NpsResponse.objects.get(request=request).score == 8

    def test_only_stars_are_needed_when_the_question_is_not_asked(self, client, asked, review_shop, customer, clock):
        _request, path = asked
        earlier_answer(review_shop, customer, days_ago=5)
        response = client.post(path, {})
        assert response.status_code == 400
        assert "Choose the stars for an item." in response.content.decode()


class TestSurveyQuestions:
    def test_the_shops_questions_in_the_customers_language_and_the_answers_kept(
        self, client, asked, review_shop, clock
    ):
        request, path = asked
        found = question(
            review_shop, "How found us", kind="choice",
            en=("How did you find us?", ["Search", "A friend", "Instagram"]),
            de=("Wie haben Sie uns gefunden?", ["Suche", "Freunde", "Instagram"]),
        )  # fmt: skip
        wish = question(review_shop, "Wish", position=2, en=("What should we sell next?", []))
        question(review_shop, "Korean only", position=3, ko=("한국어 질문", []))
        page = client.get(path).content.decode()
        assert "How did you find us?" in page
        assert "What should we sell next?" in page
        assert "한국어 질문" not in page, "never in a language the customer may not read"
        assert page.index("How did you find us?") < page.index("What should we sell next?")

        response = client.post(path, {f"survey-q{found.pk}": "2", f"survey-q{wish.pk}": " Rain jackets "})

        assert response.status_code == 303
        answers = {answer.question_id: answer for answer in SurveyAnswer.objects.filter(request=request)}
        assert (answers[found.pk].choice, answers[found.pk].text, answers[found.pk].language) == (2, "A friend", "en")
        assert answers[wish.pk].text == "Rain jackets"
        request.refresh_from_db()
        assert request.status == "reviewed"
        # Back on the page: the answers are there, and can be changed.
        assert 'value="Rain jackets"' in client.get(path).content.decode()
        client.post(path, {f"survey-q{found.pk}": "3"})
        assert SurveyAnswer.objects.get(question=found).text == "Instagram"

    def test_a_german_customer_reads_german_and_the_choice_number_is_the_same(
        self, client, review_shop, customer, products, clock
    ):
        customer.language = "de"
        customer.save()
        found = question(
            review_shop, "How found us", kind="choice",
            en=("How did you find us?", ["Search", "A friend"]), de=("Wie haben Sie uns gefunden?", ["Suche", "Freunde"]),
        )  # fmt: skip
        order = delivered_order(review_shop, customer, [products["socks"]], number="#2")
        request = ReviewRequest.objects.get(order=order)
        path = page_path(request)
        assert "Wie haben Sie uns gefunden?" in client.get(path).content.decode()
        client.post(path, {f"survey-q{found.pk}": "2"})
        answer = SurveyAnswer.objects.get()
        assert (answer.choice, answer.text, answer.language) == (2, "Freunde", "de")

    def test_the_page_costs_the_same_queries_for_one_or_three_questions(
        self, client, asked, review_shop, clock, django_assert_num_queries
    ):
        _request, path = asked
        question(review_shop, "One", kind="choice", en=("How?", ["A", "B"]), de=("Wie?", ["A", "B"]))
        client.get(path)
        # The request (and whether the shop asks questions), its items, the NPS check, the questions' words.
        with django_assert_num_queries(4):
            client.get(path)
        question(review_shop, "Two", position=2, en=("Why?", []))
        question(review_shop, "Three", position=3, en=("What?", []), ru=("Что?", []))
        with django_assert_num_queries(4):
            assert client.get(path).content.decode().count('class="item-title"') == 5  # socks, NPS, 3 questions

    def test_an_unknown_choice_is_refused_naming_the_question(self, client, asked, review_shop, clock):
        _request, path = asked
        found = question(review_shop, "How", kind="choice", en=("How did you find us?", ["Search", "A friend"]))
        response = client.post(path, {f"survey-q{found.pk}": "7"})
        assert response.status_code == 400
        assert "How did you find us?: Select a valid choice." in response.content.decode()
        assert not SurveyAnswer.objects.exists()

    def test_the_questions_are_left_off_with_the_nps_question_when_answered_recently(
        self, client, asked, review_shop, customer, clock
    ):
        _request, path = asked
        question(review_shop, "Wish", en=("What should we sell next?", []))
        earlier_answer(review_shop, customer, days_ago=3)
        assert "What should we sell next?" not in client.get(path).content.decode()


class TestSurveyAdmin:
    def change_form(self, shop, *, label, kind, active=True, texts=()):
        data = {
            "shop": shop.pk, "label": label, "kind": kind, "position": "1",
            "texts-TOTAL_FORMS": str(len(texts)), "texts-INITIAL_FORMS": "0",
        }  # fmt: skip
        if active:
            data["is_active"] = "on"
        for index, (language, prompt, choices) in enumerate(texts):
            data.update(
                {
                    f"texts-{index}-language": language,
                    f"texts-{index}-prompt": prompt,
                    f"texts-{index}-choices": choices,
                }
            )
        return data

    def test_the_owner_adds_a_choice_question_in_two_languages_and_sees_the_answers(
        self, client, owner, review_shop, asked, clock
    ):
        client.force_login(owner)
        data = self.change_form(
            review_shop, label="How found us", kind="choice",
            texts=[("en", "How did you find us?", "Search\nA friend"), ("de", "Wie gefunden?", "Suche\nFreunde")],
        )  # fmt: skip
        response = client.post(reverse("admin:reviews_surveyquestion_add"), data)
        assert response.status_code == 302
        found = SurveyQuestion.objects.get()
        assert found.texts.count() == 2
        _request, path = asked
        client.post(path, {f"survey-q{found.pk}": "2"})
        page = client.get(reverse("admin:reviews_surveyquestion_change", args=[found.pk])).content.decode()
        assert "Search: 0 · A friend: 1" in page
        answers = client.get(reverse("admin:reviews_surveyanswer_changelist")).content.decode()
        assert "A friend" in answers

    @pytest.mark.parametrize(
        ("kind", "texts", "words"),
        [
            ("choice", [("en", "How?", "Search\nFriend"), ("de", "Wie?", "Suche")], "give 2 to 8 choices"),
            ("choice", [("en", "How?", "A\nB"), ("de", "Wie?", "A\nB\nC")], "the same choices in the same order"),
            ("text", [("en", "Why?", "A\nB")], "a short-text question has no choices"),
            ("text", [], "Give the question in at least one language."),
        ],
        ids=["too-few", "mismatch", "text-with-choices", "no-wording"],
    )
    def test_wordings_that_do_not_fit_are_refused_and_nothing_is_saved(
        self, client, owner, review_shop, kind, texts, words
    ):
        client.force_login(owner)
        data = self.change_form(review_shop, label="Q", kind=kind, texts=texts)
        response = client.post(reverse("admin:reviews_surveyquestion_add"), data)
        assert response.status_code == 200
        assert words in response.content.decode()
        assert not SurveyQuestion.objects.exists()

    def test_a_shop_asks_at_most_three_questions(self, client, owner, review_shop):
        for number in range(3):
            question(review_shop, f"Q{number}", en=(f"Question {number}?", []))
        client.force_login(owner)
        data = self.change_form(review_shop, label="Fourth", kind="text", texts=[("en", "Fourth?", "")])
        response = client.post(reverse("admin:reviews_surveyquestion_add"), data)
        assert response.status_code == 200
        assert "A shop asks at most 3 questions; turn another off first." in response.content.decode()
        data = self.change_form(review_shop, label="Fourth", kind="text", active=False, texts=[("en", "Fourth?", "")])
        assert client.post(reverse("admin:reviews_surveyquestion_add"), data).status_code == 302

    def test_agents_read_questions_and_answers_and_another_shop_gets_404(self, client, agent, other_owner, review_shop):
        made = question(review_shop, "Wish", en=("What next?", []))
        client.force_login(agent)
        assert client.get(reverse("admin:reviews_surveyquestion_change", args=[made.pk])).status_code == 200
        assert client.get(reverse("admin:reviews_surveyquestion_add")).status_code == 403
        client.force_login(other_owner)
        assert client.get(reverse("admin:reviews_surveyquestion_change", args=[made.pk])).status_code == 404


PANEL = reverse("admin:reviews_npsresponse_panel")


def nps(shop, score, at, comment=""):
    return NpsResponse.objects.create(shop=shop, score=score, comment=comment, submitted_at=at)


class TestNpsPanel:
    @pytest.fixture
    def answers(self, review_shop, other_shop):
        may, june = dt.datetime(2026, 5, 12, 15, tzinfo=dt.UTC), dt.datetime(2026, 6, 2, 15, tzinfo=dt.UTC)
        for score in (10, 9, 9, 7, 3):  # May: 3 promoters, 1 passive, 1 detractor -> 40
            nps(review_shop, score, may, comment="Fast!" if score == 10 else "")
        for score in (10, 2, 0, 6):  # June: 1 promoter, 3 detractors -> -50
            nps(review_shop, score, june, comment="Broken zip" if score == 2 else "")
        nps(other_shop, 0, june, comment="Their secret complaint")

    def test_nps_per_month_with_counts_and_comments(self, client, owner, answers):
        client.force_login(owner)
        response = client.get(PANEL, {"start": "2026-05-01", "end": "2026-06-30", "period": "month"})
        assert response.status_code == 200
        rows = [(row.start, row.answers, row.promoters, row.passives, row.detractors, row.nps)
                for row in response.context["rows"]]  # fmt: skip
        assert rows == [(dt.date(2026, 5, 1), 5, 3, 1, 1, 40), (dt.date(2026, 6, 1), 4, 1, 0, 3, -50)]
        total = response.context["total"]
        assert (total.answers, total.promoters, total.detractors, total.nps) == (9, 4, 4, 0)
        page = response.content.decode()
        assert "Broken zip" in page and "Fast!" in page  # noqa: PT018
        assert "Their secret complaint" not in page

    def test_per_week_and_within_the_range_only(self, client, owner, answers):
        client.force_login(owner)
        weeks = client.get(PANEL, {"start": "2026-05-01", "end": "2026-06-30", "period": "week"}).context["rows"]
        assert [(row.start, row.nps) for row in weeks] == [(dt.date(2026, 5, 11), 40), (dt.date(2026, 6, 1), -50)]
        june = client.get(PANEL, {"start": "2026-06-01", "end": "2026-06-30"}).context["rows"]
        assert [(row.start, row.answers) for row in june] == [(dt.date(2026, 6, 1), 4)]

    def test_a_bad_range_is_refused_naming_the_field(self, client, owner, answers):
        client.force_login(owner)
        response = client.get(PANEL, {"start": "2026-06-30", "end": "2026-05-01"})
        assert response.status_code == 400
        assert "end" in response.context["form"].errors

    def test_the_panel_costs_the_same_queries_for_few_or_many_answers(
        self, client, owner, review_shop, django_assert_num_queries
    ):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        at = dt.datetime(2026, 5, 12, 15, tzinfo=dt.UTC)
        nps(review_shop, 9, at, comment="Good")
        client.force_login(owner)
        params = {"start": "2026-01-01", "end": "2026-12-31"}
        client.get(PANEL, params)
        with CaptureQueriesContext(connection) as counted:
            client.get(PANEL, params)
        for month in range(1, 12):
            nps(review_shop, month % 11, at.replace(month=month), comment=f"Comment {month}")
        with django_assert_num_queries(len(counted.captured_queries)):
            assert client.get(PANEL, params).status_code == 200

    def test_the_answers_list_links_to_the_panel(self, client, agent, review_shop):
        client.force_login(agent)
        assert PANEL in client.get(reverse("admin:reviews_npsresponse_changelist")).content.decode()


def test_nps_answers_given_through_the_service_count_toward_the_interval(review_shop, customer, products, clock):
    first = ReviewRequest.objects.get(order=delivered_order(review_shop, customer, [products["socks"]]))
    review_page_submit(request=first, answers=[], nps=NpsAnswer(score=9), language="en")
    second = ReviewRequest.objects.get(
        order=delivered_order(review_shop, customer, [products["washer"]], number="#2", at=DELIVERED_AT + DAY)
    )
    review_page_submit(request=second, answers=[], nps=NpsAnswer(score=1), language="en")
    assert list(NpsResponse.objects.values_list("score", flat=True)) == [9]

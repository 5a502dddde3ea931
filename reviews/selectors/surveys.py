"""What the review page asks besides the stars: the NPS question and the shop's survey questions, unless the
customer answered within the policy's interval (`ReviewPolicy.nps_interval_days`)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

from journeys.prepared_statements import prepared_cursor
from reviews.models import SurveyAnswer, SurveyQuestion, SurveyQuestionText
from reviews.models.surveys import MAX_ACTIVE_QUESTIONS
from reviews.selectors.page import ReviewPage


@dataclass(frozen=True)
class ShownQuestion:
    question: SurveyQuestion
    prompt: str
    choices: list[str]  # empty for a text question
    language: str


@dataclass
class PageSurvey:
    due: bool  # False: the customer answered recently; the page leaves the NPS and survey questions off
    questions: list[ShownQuestion] = field(default_factory=list)
    answers: dict[int, SurveyAnswer] = field(default_factory=dict)  # by question id, this request's


_SURVEYED_SQL = (
    "SELECT 1 FROM reviews_npsresponse WHERE customer_id = %s AND submitted_at >= %s{except_request} LIMIT 1"
)
_SURVEYED_ANYWHERE_SQL = _SURVEYED_SQL.format(except_request="")
_SURVEYED_ELSEWHERE_SQL = _SURVEYED_SQL.format(except_request=" AND (request_id IS NULL OR request_id <> %s)")


def surveyed_since(*, customer_id: int, since: dt.datetime, except_request_id: int | None) -> bool:
    """Whether the customer answered the NPS question since `since`, on another request's page. 1 query.

    The shop's survey questions are asked with the NPS question, so its answer stands for both. Hand-written
    SQL: the review page asks this on every view, and building it with the ORM cost ten times running it."""
    params = [customer_id, connection.ops.adapt_datetimefield_value(since)]
    with prepared_cursor() as cursor:
        if except_request_id is None:
            cursor.execute(_SURVEYED_ANYWHERE_SQL, params)
        else:
            cursor.execute(_SURVEYED_ELSEWHERE_SQL, [*params, except_request_id])
        return cursor.fetchone() is not None


def survey_due(*, page: ReviewPage, now: dt.datetime) -> bool:
    """Ask the NPS (and survey) questions on this request's page? Always when they were answered on it already
    (the customer may change the answer) or the policy says every time; else only when the customer did not
    answer within `nps_interval_days`."""
    if page.nps is not None or not page.policy.nps_interval_days:
        return True
    since = now - dt.timedelta(days=page.policy.nps_interval_days)
    return not surveyed_since(customer_id=page.customer_id, since=since, except_request_id=page.request_id)


def survey_texts(*, shop_id: int, languages: list[str]) -> QuerySet[SurveyQuestionText]:
    return (
        SurveyQuestionText.objects.filter(
            question__shop_id=shop_id, question__is_active=True, language__in=[lang for lang in languages if lang]
        )
        .select_related("question")
        .order_by("question__position", "question_id")
    )


def survey_questions_shown(*, shop_id: int, language: str, shop_language: str) -> list[ShownQuestion]:
    """The shop's active questions in `language`, else in the shop's language; a question in neither is left
    out (never shown in a language the customer may not read). At most MAX_ACTIVE_QUESTIONS. 1 query."""
    by_question: dict[int, SurveyQuestionText] = {}
    for text in survey_texts(shop_id=shop_id, languages=[language, shop_language]):
        known = by_question.get(text.question_id)
        if known is None or (text.language == language and known.language != language):
            by_question[text.question_id] = text
    shown = [
        ShownQuestion(
            question=text.question,
            prompt=text.prompt,
            choices=text.choice_list if text.question.kind == SurveyQuestion.Kind.CHOICE else [],
            language=text.language,
        )
        for text in by_question.values()
    ]
    shown.sort(key=lambda entry: (entry.question.position, entry.question.pk))
    return shown[:MAX_ACTIVE_QUESTIONS]


def page_survey(*, page: ReviewPage, language: str, now: dt.datetime) -> PageSurvey:
    """What the review page of `page` asks after the stars (0 to 3 queries; none when the customer answered the
    NPS question on this page already and the shop has no survey questions)."""
    if not survey_due(page=page, now=now):
        return PageSurvey(due=False)
    questions = (
        survey_questions_shown(shop_id=page.shop.id, language=language, shop_language=page.shop.default_language)
        if page.shop_asks_survey
        else []
    )
    answers = {}
    if questions and page.reviewed:
        answers = {answer.question_id: answer for answer in SurveyAnswer.objects.filter(request_id=page.request_id)}
    return PageSurvey(due=True, questions=questions, answers=answers)

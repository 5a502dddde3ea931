"""What the review page asks besides the stars: the NPS question and the shop's survey questions, unless the
customer answered within the policy's interval (`ReviewPolicy.nps_interval_days`)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet

from reviews.models import NpsResponse, ReviewPolicy, ReviewRequest, SurveyAnswer, SurveyQuestion, SurveyQuestionText
from reviews.models.surveys import MAX_ACTIVE_QUESTIONS


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


def surveyed_since(*, customer_id: int, since: dt.datetime, except_request_id: int | None) -> bool:
    """Whether the customer answered the NPS question since `since`, on another request's page. 1 query.

    The shop's survey questions are asked with the NPS question, so its answer stands for both."""
    answers = NpsResponse.objects.filter(customer_id=customer_id, submitted_at__gte=since)
    if except_request_id is not None:
        answers = answers.exclude(request_id=except_request_id)
    return answers.exists()


def survey_due(*, request: ReviewRequest, policy: ReviewPolicy, now: dt.datetime) -> bool:
    """Ask the NPS (and survey) questions on this request's page? Always when they were answered on it already
    (the customer may change the answer) or the policy says every time; else only when the customer did not
    answer within `nps_interval_days`."""
    if getattr(request, "nps", None) is not None or not policy.nps_interval_days:
        return True
    since = now - dt.timedelta(days=policy.nps_interval_days)
    return not surveyed_since(customer_id=request.customer_id, since=since, except_request_id=request.pk)


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


def page_survey(*, request: ReviewRequest, policy: ReviewPolicy, language: str, now: dt.datetime) -> PageSurvey:
    """What the review page of `request` asks after the stars (0 to 3 queries; none when the customer answered the
    NPS question on this page already and the shop has no survey questions)."""
    if not survey_due(request=request, policy=policy, now=now):
        return PageSurvey(due=False)
    questions = (
        survey_questions_shown(shop_id=request.shop_id, language=language, shop_language=request.shop.default_language)
        if getattr(request, "shop_asks_survey", True)
        else []
    )
    answers = {}
    if questions and request.status == ReviewRequest.Status.REVIEWED:
        answers = {answer.question_id: answer for answer in SurveyAnswer.objects.filter(request=request)}
    return PageSurvey(due=True, questions=questions, answers=answers)

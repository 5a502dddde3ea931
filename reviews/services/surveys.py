"""A shop's own survey questions: a few (at most three active), short text or one choice, in several languages."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from reviews.models import SurveyQuestion, SurveyQuestionText
from reviews.models.surveys import MAX_ACTIVE_QUESTIONS, MAX_CHOICES


def survey_texts_check(*, question: SurveyQuestion, texts: list[SurveyQuestionText]) -> None:
    """Raise ValidationError naming the field when the wordings do not fit the question: an active question
    needs at least one; a choice question needs 2 to MAX_CHOICES choices, as many in every language (the
    choices are the same answers, translated); a text question has none."""
    if question.is_active and not texts:
        raise ValidationError({"prompt": _("Give the question in at least one language.")})
    counts = {}
    for text in texts:
        choices = text.choice_list
        if question.kind == SurveyQuestion.Kind.TEXT and choices:
            raise ValidationError(
                {"choices": _("%(language)s: a short-text question has no choices; clear them or make it a choice.")
                 % {"language": text.language}}
            )  # fmt: skip
        if question.kind == SurveyQuestion.Kind.CHOICE:
            if not 2 <= len(choices) <= MAX_CHOICES:
                raise ValidationError(
                    {"choices": _("%(language)s: give 2 to %(max)d choices, one per line.")
                     % {"language": text.language, "max": MAX_CHOICES}}
                )  # fmt: skip
            if any(len(choice) > 100 for choice in choices):
                raise ValidationError({"choices": _("%s: keep each choice under 100 characters.") % text.language})
            counts[text.language] = len(choices)
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{language}: {count}" for language, count in sorted(counts.items()))
        raise ValidationError({"choices": _("Every language needs the same choices in the same order (%s).") % listed})


def survey_question_check(question: SurveyQuestion) -> None:
    """Raise ValidationError naming the field: a shop asks at most MAX_ACTIVE_QUESTIONS questions; the kind of a
    question with answers does not change (their choice numbers would lose their meaning)."""
    if question.is_active and question.shop_id:
        others = SurveyQuestion.objects.filter(shop_id=question.shop_id, is_active=True).exclude(pk=question.pk)
        if others.count() >= MAX_ACTIVE_QUESTIONS:
            raise ValidationError(
                {"is_active": _("A shop asks at most %d questions; turn another off first.") % MAX_ACTIVE_QUESTIONS}
            )
    if question.pk:
        before = SurveyQuestion.objects.filter(pk=question.pk).values_list("kind", flat=True).first()
        if before and before != question.kind and question.answers.exists():
            raise ValidationError({"kind": _("This question has answers; add a new question instead.")})


@transaction.atomic
def survey_question_save(*, question: SurveyQuestion) -> SurveyQuestion:
    """Create or change a question after `survey_question_check`; nothing is saved when it refuses."""
    survey_question_check(question)
    question.label = question.label.strip()
    question.full_clean()
    question.save()
    return question


def survey_question_text_save(*, text: SurveyQuestionText) -> SurveyQuestionText:
    text.prompt = text.prompt.strip()
    text.choices = "\n".join(text.choice_list)
    text.full_clean()
    text.save()
    return text

"""A shop's own short survey questions on the review page (a few, per language), and the answers."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import LANGUAGE_CHOICES, BaseModel, Customer, Merchant
from reviews.models.requests import ReviewRequest

MAX_ACTIVE_QUESTIONS = 3
MAX_CHOICES = 8


class SurveyQuestion(BaseModel):
    """One question, asked after the NPS question. Its words live in `SurveyQuestionText`, one per language."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Short text")
        CHOICE = "choice", _("One choice of a list")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="survey_questions")
    label = models.CharField(_("name"), max_length=100, help_text=_("For you, in the admin: e.g. “How found us”."))
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.TEXT)
    position = models.PositiveSmallIntegerField(default=1, help_text=_("Questions are asked in this order."))
    is_active = models.BooleanField(
        default=True, help_text=_("Only active questions are asked; turn one off to keep its answers.")
    )

    class Meta:
        ordering = ["shop", "position", "id"]
        verbose_name = _("survey question")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["text", "choice"]), name="reviews_surveyquestion_kind_valid")
        ]

    def __str__(self) -> str:
        return self.label


class SurveyQuestionText(models.Model):
    """The question in one language. Choices are one per line, in the same order in every language."""

    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    prompt = models.CharField(_("question"), max_length=200)
    choices = models.TextField(
        blank=True, help_text=_("Choice questions: one answer per line, in the same order in every language.")
    )

    class Meta:
        ordering = ["question", "language"]
        verbose_name = _("wording")
        verbose_name_plural = _("wordings (one per language)")
        constraints = [
            models.UniqueConstraint(fields=["question", "language"], name="reviews_surveyquestiontext_unique_language")
        ]

    def __str__(self) -> str:
        return f"{self.language}: {self.prompt}"

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class SurveyAnswer(BaseModel):
    """A customer's answer to one question, from one review request's page. Editable until the link expires."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="survey_answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.PROTECT, related_name="answers")
    request = models.ForeignKey(
        ReviewRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="survey_answers"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="survey_answers"
    )
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    # Choice questions: the number of the choice (1 = the first line), the same in every language.
    choice = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(help_text=_("The words, or the choice as the customer saw it."))
    submitted_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("survey answer")
        constraints = [
            models.UniqueConstraint(fields=["question", "request"], name="reviews_surveyanswer_unique_per_request")
        ]
        indexes = [models.Index(fields=["shop", "-submitted_at"], name="reviews_surveyanswer_shop_idx")]

    def __str__(self) -> str:
        return self.text[:80]

"""The shop's survey questions (owners write them, per language) and the customers' answers (read-only)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from merchant.admin.tenancy import ADD, CHANGE, VIEW, ParentShopMixin, Role, ShopListFilter, ShopScopedAdmin
from reviews.admin.common import STAFF_WORK
from reviews.models import SurveyAnswer, SurveyQuestion, SurveyQuestionText
from reviews.services.surveys import (
    survey_question_check,
    survey_question_save,
    survey_question_text_save,
    survey_texts_check,
)

OWNER_EDITS = {Role.OWNER: frozenset({VIEW, ADD, CHANGE, "delete"}), Role.AGENT: frozenset({VIEW})}


class SurveyQuestionForm(forms.ModelForm):
    class Meta:
        model = SurveyQuestion
        fields = ("shop", "label", "kind", "position", "is_active")

    def clean(self):
        cleaned = super().clean()
        shop = cleaned.get("shop")
        probe = SurveyQuestion(
            pk=self.instance.pk,
            shop_id=shop.pk if shop else self.instance.shop_id,
            kind=cleaned.get("kind", self.instance.kind),
            is_active=cleaned.get("is_active", False),
        )
        try:
            survey_question_check(probe)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


class SurveyTextFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        texts = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("prompt")
        ]
        try:
            survey_texts_check(question=self.instance, texts=texts)
        except ValidationError as error:
            raise ValidationError(
                [message for messages in error.message_dict.values() for message in messages]
            ) from None


class SurveyQuestionTextInline(ParentShopMixin, admin.TabularInline):
    model = SurveyQuestionText
    formset = SurveyTextFormSet
    shop_path = "question__shop"
    role_permissions = OWNER_EDITS
    extra = 1
    fields = ("language", "prompt", "choices")
    formfield_overrides = {
        SurveyQuestionText._meta.get_field("choices").__class__: {"widget": forms.Textarea(attrs={"rows": 4})}
    }


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(ShopScopedAdmin):
    role_permissions = OWNER_EDITS
    form = SurveyQuestionForm
    list_display = ("label", "kind", "position", "is_active", "answer_count", "shop")
    list_filter = ("is_active", ("shop", ShopListFilter))
    inlines = (SurveyQuestionTextInline,)
    fields = ("shop", "label", "kind", "position", "is_active", "answers_summary")
    readonly_fields = ("answers_summary",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(answer_total=Count("answers"))

    @admin.display(description=gettext_lazy("answers"), ordering="answer_total")
    def answer_count(self, question: SurveyQuestion) -> str:
        url = reverse("admin:reviews_surveyanswer_changelist") + f"?question__id__exact={question.pk}"
        return format_html('<a href="{}">{}</a>', url, question.answer_total)

    @admin.display(description=gettext_lazy("answers so far"))
    def answers_summary(self, question: SurveyQuestion) -> str:
        if question.pk is None:
            return "—"
        if question.kind == SurveyQuestion.Kind.TEXT:
            return str(question.answers.count())
        texts = list(question.texts.all())
        text = next((t for t in texts if t.language == question.shop.default_language), texts[0] if texts else None)
        labels = text.choice_list if text else []
        counts = dict(question.answers.values_list("choice").annotate(n=Count("id")).order_by())
        return (
            " · ".join(
                f"{labels[number - 1] if number - 1 < len(labels) else number}: {counts.get(number, 0)}"
                for number in range(1, max(len(labels), max(counts, default=0)) + 1)
            )
            or "—"
        )

    def save_model(self, request, obj, form, change):
        survey_question_save(question=obj)

    def save_formset(self, request, form, formset, change):
        for text in formset.save(commit=False):
            text.question = form.instance
            survey_question_text_save(text=text)
        for removed in formset.deleted_objects:
            removed.delete()


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(ShopScopedAdmin):
    role_permissions = STAFF_WORK
    list_display = ("submitted_at", "question", "text", "choice", "language", "customer", "shop")
    list_filter = ("question", ("shop", ShopListFilter))
    list_select_related = ("question", "customer", "shop")
    search_fields = ("text", "customer__email")
    fields = ("shop", "question", "text", "choice", "language", "customer", "request", "submitted_at", "edited_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

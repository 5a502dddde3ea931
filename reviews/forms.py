"""Forms: the customer's review page (one form per item, one for the NPS question) and the admin's hide form.

They check shape only (a number of stars, lengths, that a file is a photo or an MP4 and within its
limits); what is stored, and when, is decided in `reviews.services`.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from merchant.uploads import MultipleFileField, MultipleFileInput
from reviews.models import Review
from reviews.uploads import PHOTOS_PER_REVIEW, UploadRefused, photo_prepare, video_prepare

RATINGS = [(stars, str(stars)) for stars in range(1, 6)]
SCORES = [(score, str(score)) for score in range(0, 11)]
TITLE_MAX = 150
TEXT_MAX = 5000
COMMENT_MAX = 2000


class ItemReviewForm(forms.Form):
    """One item of the request. The prefix ("item-<id>") keeps the items apart in one page."""

    rating = forms.TypedChoiceField(
        label=_("Stars"), choices=RATINGS, coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX, required=False)
    text = forms.CharField(
        label=_("Your review"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    photos = MultipleFileField(
        label=_("Photos"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    video = forms.FileField(label=_("Video"), required=False, widget=forms.FileInput(attrs={"accept": "video/mp4"}))
    remove_media = forms.TypedMultipleChoiceField(
        label=_("Remove"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, item, reviewed: bool, media_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        self.reviewed = reviewed  # the customer reviewed the item already: stars may stay as they were
        self.fields["remove_media"].choices = [(media_id, str(media_id)) for media_id in media_ids]

    def clean_photos(self):
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > PHOTOS_PER_REVIEW:
            raise ValidationError(_("Choose up to %d photos.") % PHOTOS_PER_REVIEW)
        prepared, problems = [], []
        for upload in photos:
            try:
                prepared.append(photo_prepare(upload))
            except UploadRefused as refusal:
                problems.append(str(refusal))
        if problems:
            raise ValidationError(problems)
        return prepared

    def clean_video(self):
        upload = self.cleaned_data.get("video")
        if not upload:
            return None
        try:
            return video_prepare(upload)
        except UploadRefused as refusal:
            raise ValidationError(str(refusal)) from None

    def clean(self):
        cleaned = super().clean()
        has_words = bool((cleaned.get("title") or "").strip() or (cleaned.get("text") or "").strip())
        has_files = bool(cleaned.get("photos") or cleaned.get("video"))
        if cleaned.get("rating") is None and not self.reviewed and (has_words or has_files):
            self.add_error("rating", _("Choose 1 to 5 stars to send your review of this item."))
        return cleaned


class NpsForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Score"), choices=SCORES, coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("What is the main reason for your score?"),
        max_length=COMMENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


SURVEY_TEXT_MAX = 500


class SurveyForm(forms.Form):
    """The shop's survey questions shown on the page: `q<id>`, a short text or one choice (1 = the first line)."""

    def __init__(self, *args, questions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for shown in questions:
            name = f"q{shown.question.pk}"
            if shown.choices:
                self.fields[name] = forms.TypedChoiceField(
                    label=shown.prompt,
                    choices=[(number, label) for number, label in enumerate(shown.choices, start=1)],
                    coerce=int,
                    required=False,
                    empty_value=None,
                    widget=forms.RadioSelect,
                )
            else:
                self.fields[name] = forms.CharField(label=shown.prompt, max_length=SURVEY_TEXT_MAX, required=False)

    def rows(self):
        """(question shown, bound field) in the order asked, for the template."""
        return [(shown, self[f"q{shown.question.pk}"]) for shown in self.questions]

    def answers(self) -> list[tuple[int, str, int | None]]:
        """(question id, words, choice) of each answered question: a choice's words as the customer saw them."""
        found = []
        for shown in self.questions:
            value = self.cleaned_data.get(f"q{shown.question.pk}")
            if value in (None, ""):
                continue
            if shown.choices:
                found.append((shown.question.pk, shown.choices[value - 1], value))
            else:
                found.append((shown.question.pk, value.strip(), None))
        return found


class NpsPanelForm(forms.Form):
    """The NPS panel's filter: a date range (in the shop's zone, both days included) and weeks or months."""

    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(label=_("Per"), choices=[("month", _("month")), ("week", _("week"))], required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end is before the start."))
        if start and end and (end - start).days > 3 * 366:
            self.add_error("start", _("Choose at most three years."))
        return cleaned


class FollowUpForm(forms.Form):
    """The admin's private message to a reviewer."""

    text = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70}),
        help_text=_(
            "Sent privately to the customer through the “Review follow-up” care rule, in its channel and hours. "
            "Kept with the review."
        ),
    )


class ReviewImportForm(forms.Form):
    """The admin's CSV upload of reviews (shape only: the rows are read by `reviews.csv_files`)."""

    shop = forms.ModelChoiceField(queryset=None, label=_("Shop"))
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, comma, semicolon or tab separated, up to 5 MB."))

    MAX_BYTES = 5 * 1024 * 1024

    def __init__(self, *args, shops, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops
        if len(shops) == 1:
            self.fields["shop"].initial = shops.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(_("The file has %d bytes; at most 5 MB are accepted.") % upload.size)
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text; save it as “CSV UTF-8”.")) from None


class HideReviewsForm(forms.Form):
    """The admin's hide action: an allowed reason, and what in the review breaks the rules."""

    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "---------"), *Review.HideReason.choices])
    note = forms.CharField(
        label=_("What in the review breaks the rules"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept with the review. Being negative is never a reason to hide a review."),
    )

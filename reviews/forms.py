"""Forms: the customer's review page (one form per item, one for the NPS question) and the admin's hide form.

They check shape only (a number of stars, lengths, that a file is a photo or an MP4 and within its
limits); what is stored, and when, is decided in `reviews.services`.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from reviews.models import Review
from reviews.uploads import PHOTOS_PER_REVIEW, UploadRefused, photo_prepare, video_prepare

RATINGS = [(stars, str(stars)) for stars in range(1, 6)]
SCORES = [(score, str(score)) for score in range(0, 11)]
TITLE_MAX = 150
TEXT_MAX = 5000


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(file, initial) for file in files if file]


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

    def __init__(self, *args, item, existing: Review | None, media_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        self.existing = existing
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
        if cleaned.get("rating") is None and self.existing is None and (has_words or has_files):
            self.add_error("rating", _("Choose 1 to 5 stars to send your review of this item."))
        return cleaned


class NpsForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Score"), choices=SCORES, coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("What is the main reason for your score?"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class HideReviewsForm(forms.Form):
    """The admin's hide action: an allowed reason, and what in the review breaks the rules."""

    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "---------"), *Review.HideReason.choices])
    note = forms.CharField(
        label=_("What in the review breaks the rules"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept with the review. Being negative is never a reason to hide a review."),
    )

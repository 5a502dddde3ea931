"""Forms of return requests: the customer's portal form, and the admin's step forms (decline, in transit, inspect).

They check shape only (numbers, lengths, that a photo is a photo within its limits); whether a quantity can
still be returned, and what happens next, is decided in `returns.services.requests`.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from merchant.uploads import PHOTO_MAX_BYTES, MultipleFileField, MultipleFileInput, UploadRefused, photo_prepare
from returns.models import RefundMethod, ReturnLine, ReturnPolicy, ReturnReason, ReturnRequest
from returns.selectors.requests import Eligibility
from returns.services.policy import EDITABLE_FIELDS
from returns.services.requests import DECLINE_MESSAGE_MAX, PHOTOS_PER_REQUEST

COMMENT_MAX = 2000
# What the portal's form may weigh with all its photos: refused with 413 before it is read.
REQUEST_MAX_BYTES = PHOTOS_PER_REQUEST * PHOTO_MAX_BYTES + 1024 * 1024


class ReturnPortalForm(forms.Form):
    """One quantity per line of the order (`line-<id>`), one reason, a comment, photos and the refund method."""

    reason = forms.ChoiceField(
        label=_("Why are you returning them?"), choices=ReturnReason.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Anything we should know?"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = MultipleFileField(
        label=_("Photos"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    refund_method = forms.ChoiceField(label=_("How would you like your refund?"), widget=forms.RadioSelect)

    def __init__(self, *args, eligibility: Eligibility, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eligibility = eligibility
        self.line_fields = []
        for entry in eligibility.lines:
            name = f"line-{entry.line.pk}"
            self.fields[name] = forms.TypedChoiceField(
                label=entry.line.title,
                choices=[(n, str(n)) for n in range(entry.returnable + 1)],
                coerce=int,
                initial=0,
                required=False,
                empty_value=0,
                disabled=not entry.returnable,
            )
            self.line_fields.append((entry, name))
        methods = eligibility.policy.refund_methods or [RefundMethod.ORIGINAL_PAYMENT]
        labels = dict(RefundMethod.choices)
        self.fields["refund_method"].choices = [(method, labels.get(method, method)) for method in methods]
        self.fields["refund_method"].initial = methods[0]
        self.reason_choices = ReturnReason.choices

    def lines(self):
        """(eligibility entry, bound field) per line, for the page."""
        return [(entry, self[name]) for entry, name in self.line_fields]

    def clean_photos(self):
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > PHOTOS_PER_REQUEST:
            raise ValidationError(_("Choose up to %d photos.") % PHOTOS_PER_REQUEST)
        prepared, problems = [], []
        for upload in photos:
            try:
                prepared.append(photo_prepare(upload))
            except UploadRefused as refusal:
                problems.append(str(refusal))
        if problems:
            raise ValidationError(problems)
        return prepared

    def chosen(self) -> dict[int, int]:
        """Order line id -> quantity chosen (more than 0)."""
        return {
            entry.line.pk: self.cleaned_data.get(name) or 0
            for entry, name in self.line_fields
            if self.cleaned_data.get(name)
        }

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.chosen():
            self.add_error(None, _("Choose at least one item to return."))
        return cleaned


# --- admin --------------------------------------------------------------------------------------------------


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (for the history)"), required=False, max_length=500)


class DeclineForm(forms.Form):
    code = forms.ChoiceField(
        label=_("Reason (internal)"), choices=[("", "---------"), *ReturnRequest.DeclineCode.choices]
    )
    message = forms.CharField(
        label=_("Message to the customer"),
        max_length=DECLINE_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": DECLINE_MESSAGE_MAX}),
        help_text=_("The customer reads exactly this, in the message that tells them. At most 500 characters."),
    )


class InTransitForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), required=False, max_length=100)
    tracking_number = forms.CharField(label=_("Tracking number"), required=False, max_length=100)


class InspectLineForm(forms.Form):
    """One line of the parcel: the prefix ("line-<id>") keeps the lines apart in one page."""

    disposition = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            (ReturnLine.Disposition.ACCEPT, _("Accept")),
            (ReturnLine.Disposition.REJECT, _("Reject")),
            (ReturnLine.Disposition.PARTIAL, _("Partly accept")),
        ],
        widget=forms.RadioSelect,
    )
    accepted_quantity = forms.IntegerField(label=_("Accepted quantity (partly)"), required=False, min_value=0)
    restock = forms.BooleanField(label=_("Back to stock"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args, line: ReturnLine, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.line = line


class ReturnPolicyForm(forms.ModelForm):
    """The policy in plain fields: categories one per line, reasons and refund methods as boxes to tick."""

    non_returnable_categories = forms.CharField(
        label=_("Non-returnable categories"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One product category per line (as products carry it), e.g. gift cards."),
    )
    auto_approve_reasons = forms.MultipleChoiceField(
        label=_("Approve by itself for these reasons"),
        choices=ReturnReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    refund_methods = forms.MultipleChoiceField(
        label=_("Refund methods"), choices=RefundMethod.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ReturnPolicy
        fields = ("shop", *EDITABLE_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["non_returnable_categories"] = "\n".join(self.instance.non_returnable_categories)

    def clean_non_returnable_categories(self):
        text = self.cleaned_data.get("non_returnable_categories") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

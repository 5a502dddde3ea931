"""The review page's repeated sections as HTML, built in one escaped pass: each item's stars, words and files,
the NPS question's grid of scores, the shop's survey questions.

The page's template (templates/customer/review_page.html) holds the rest. Each section here was a template
loop of some 40 nodes an item (5 to 10 µs a node): the template engine took most of the page's time. Every
value from the database, the customer or a translation goes through `escape`; the translated sentences
with a placeholder are filled like `{% blocktranslate %}` fills them (the sentence as translated, its
values escaped), under the same message ids, so the catalogues translate them as before.
"""

from dataclasses import dataclass, field

from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reviews.selectors.page import PageMedia
from reviews.selectors.surveys import ShownQuestion


@dataclass(frozen=True)
class ItemFields:
    """One item's section as the customer sees it: what is filled in, and what needs fixing."""

    prefix: str  # the form's prefix, "item-<id>": names and ids of the inputs
    item_title: str
    rating: str  # the chosen stars as text, "" for none
    title: str
    text: str
    reply_text: str = ""  # the shop's public reply to the review
    media: list[PageMedia] = field(default_factory=list)  # the review's photos and videos
    errors: dict[str, list[str]] = field(default_factory=dict)  # by field name


@dataclass(frozen=True)
class NpsFields:
    score: str  # the chosen score as text, "" for none
    comment: str
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SurveyFields:
    shown: ShownQuestion
    name: str  # the input's name, "survey-q<id>"
    value: str  # the answer as text: the words, or the number of the choice
    errors: list[str] = field(default_factory=list)


def _field_errors(messages: list[str]) -> str:
    return "".join(f'<p class="field-error">{escape(message)}</p>' for message in messages)


def _value_attribute(value: str) -> str:
    return f' value="{escape(value)}"' if value else ""


def item_sections_html(
    items: list[ItemFields], *, token: str, shop_name: str, photo_limit_mb: int, video_limit_mb: int,
    video_limit_seconds: int, title_max: int, text_max: int,
) -> SafeString:  # fmt: skip
    """Each item's section: its stars (highest first: laid out right to left so that CSS alone fills those before
    the chosen one), title, words, the shop's reply, the photos and video kept, and the inputs for new ones."""
    # The same for every item: translated once a page.
    star_labels = [(str(stars), escape(ngettext("%d star", "%d stars", stars) % stars)) for stars in range(5, 0, -1)]
    title_label, text_label = escape(_("Title")), escape(_("Your review"))
    photos_label, video_label = escape(_("Photos")), escape(_("Video"))
    photos_hint = _("JPEG, PNG or WebP, up to %(limit)s MB each. We remove the location and camera details.") % {
        "limit": photo_limit_mb
    }
    video_hint = _("MP4, up to %(seconds)s seconds and %(limit)s MB.") % {
        "seconds": video_limit_seconds,
        "limit": video_limit_mb,
    }
    reply_from = _("Reply from %(shop)s") % {"shop": escape(shop_name)}
    your_photo, your_video, remove = escape(_("Your photo")), escape(_("Your video")), escape(_("Remove"))
    parts = []
    for item in items:
        prefix, errors = item.prefix, item.errors
        item_title = escape(item.item_title)
        stars = "".join(
            f'<span class="star"><input type="radio" name="{prefix}-rating" value="{value}" '
            f'id="id_{prefix}-rating_{value}" aria-label="{label}"{" checked" if value == item.rating else ""}>'
            '<span aria-hidden="true">&#9733;</span></span>'
            for value, label in star_labels
        )
        parts.append(
            f'<section class="item" aria-labelledby="{prefix}-title">'
            f'<h2 class="item-title" id="{prefix}-title">{item_title}</h2>'
            f'<fieldset><legend class="sr">{_("Stars for %(item)s") % {"item": item_title}}</legend>'
            f'<div class="stars">{stars}</div>{_field_errors(errors.get("rating", []))}</fieldset>'
            f'<label class="field" for="id_{prefix}-title">{title_label}</label>'
            f'<input type="text" name="{prefix}-title" id="id_{prefix}-title" maxlength="{title_max}"'
            f"{_value_attribute(item.title)}>{_field_errors(errors.get('title', []))}"
            f'<label class="field" for="id_{prefix}-text">{text_label}</label>'
            f'<textarea name="{prefix}-text" id="id_{prefix}-text" rows="4" maxlength="{text_max}">\n'
            f"{escape(item.text)}</textarea>{_field_errors(errors.get('text', []))}"
        )
        if item.reply_text:
            parts.append(
                f'<div class="reply"><p class="from">{reply_from}</p><p>{linebreaksbr(item.reply_text)}</p></div>'
            )
        if item.media:
            shown = []
            for media in item.media:
                if media.kind == "photo":
                    url = escape(reverse("review-media", args=[token, media.id]))
                    kept = f'<img src="{url}" alt="{your_photo}">'
                else:
                    kept = f"<span>{your_video}</span>"
                shown.append(
                    f'<li>{kept}<label class="remove"><input type="checkbox" name="{prefix}-remove_media" '
                    f'value="{media.id}"> {remove}</label></li>'
                )
            parts.append(f'<ul class="media">{"".join(shown)}</ul>')
        parts.append(
            f'<label class="field" for="id_{prefix}-photos">{photos_label}</label>'
            f'<input type="file" name="{prefix}-photos" id="id_{prefix}-photos" '
            'accept="image/jpeg,image/png,image/webp" multiple>'
            f'<p class="hint">{photos_hint}</p>{_field_errors(errors.get("photos", []))}'
            f'<label class="field" for="id_{prefix}-video">{video_label}</label>'
            f'<input type="file" name="{prefix}-video" id="id_{prefix}-video" accept="video/mp4">'
            f'<p class="hint">{video_hint}</p>{_field_errors(errors.get("video", []))}'
            "</section>\n"
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above went through escape()


def nps_section_html(nps: NpsFields, *, shop_name: str, comment_max: int) -> SafeString:
    """The NPS question (0-10, "how likely are you to recommend <shop>?") and its follow-up."""
    scores = "".join(
        f'<span class="score"><input type="radio" name="nps-score" value="{score}" aria-label="{score}"'
        f'{" checked" if str(score) == nps.score else ""}><span aria-hidden="true">{score}</span></span>'
        for score in range(0, 11)
    )
    question = _("How likely are you to recommend %(shop)s to a friend?") % {"shop": escape(shop_name)}
    return mark_safe(  # noqa: S308 - every value below went through escape()
        f'<section class="item"><fieldset><legend class="item-title">{question}</legend>'
        f'<div class="scores">{scores}</div>'
        f'<div class="scale" aria-hidden="true"><span>{escape(_("0: not at all likely"))}</span>'
        f"<span>{escape(_('10: extremely likely'))}</span></div>"
        f"{_field_errors(nps.errors.get('score', []))}</fieldset>"
        f'<label class="field" for="id_nps-comment">{escape(_("What is the main reason for your score?"))}</label>'
        f'<textarea name="nps-comment" id="id_nps-comment" rows="3" maxlength="{comment_max}">\n'
        f"{escape(nps.comment)}</textarea>{_field_errors(nps.errors.get('comment', []))}</section>\n"
    )


def survey_sections_html(questions: list[SurveyFields], *, text_max: int) -> SafeString:
    """The shop's survey questions: one choice of a list, or a short text."""
    parts = []
    for question in questions:
        shown, name = question.shown, escape(question.name)
        prompt = escape(shown.prompt)
        if shown.choices:
            choices = "".join(
                f'<label class="choice"><input type="radio" name="{name}" value="{number}"'
                f"{' checked' if str(number) == question.value else ''}> {escape(label)}</label>"
                for number, label in enumerate(shown.choices, start=1)
            )
            body = (
                f'<fieldset><legend class="item-title">{prompt}</legend><div class="choices">{choices}</div></fieldset>'
            )
        else:
            body = (
                f'<label class="item-title" for="id_{name}" style="display:block">{prompt}</label>'
                f'<input type="text" name="{name}" id="id_{name}" maxlength="{text_max}"'
                f"{_value_attribute(question.value)}>"
            )
        parts.append(f'<section class="item">{body}{_field_errors(question.errors)}</section>\n')
    return mark_safe("".join(parts))  # noqa: S308 - every value above went through escape()

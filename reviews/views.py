"""The review page customers reach from a review request: no login, a signed token in the URL.

GET shows the form in the customer's language (a `?stars=N` from a star tapped in the message only
pre-fills it); POST stores and redirects to the thank-you page (post/redirect/get). A tampered,
made-up or other shop's token gets the friendly 404 page that says nothing about anything
existing; a genuine but expired link, or one whose request was cancelled, a friendly 410 page.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from reviews.forms import COMMENT_MAX, SURVEY_TEXT_MAX, TEXT_MAX, TITLE_MAX, ItemReviewForm, NpsForm, SurveyForm
from reviews.links import token_read
from reviews.models import ReviewMedia, ReviewPolicy, ReviewRequest
from reviews.selectors import page_language, page_policy, review_request_for_page
from reviews.selectors.storefront import public_media_get
from reviews.selectors.surveys import PageSurvey, page_survey
from reviews.services.submissions import ItemAnswer, NpsAnswer, SurveyAnswerInput, review_page_submit
from reviews.uploads import PHOTO_MAX_BYTES, REQUEST_MAX_BYTES, VIDEO_MAX_BYTES, VIDEO_MAX_SECONDS

MB = 1024 * 1024


@dataclass
class Opened:
    request: ReviewRequest
    policy: ReviewPolicy
    language: str
    expires_at: dt.datetime
    survey: PageSurvey | None = None  # read by the form page only


def _not_found(request: HttpRequest) -> HttpResponse:
    # In the browser's language: a bad token names no customer whose language we could use.
    return render(request, "customer/link_not_found.html", status=404)


def _open(request: HttpRequest, token: str) -> Opened | HttpResponse:
    payload = token_read(token)
    if payload is None:
        return _not_found(request)
    review_request = review_request_for_page(request_id=payload.request_id, shop_id=payload.shop_id)
    if review_request is None:
        return _not_found(request)
    language = page_language(review_request)
    policy = page_policy(review_request)
    expires_at = payload.expires_at(valid_days=policy.link_valid_days)
    if timezone.now() >= expires_at or review_request.status == ReviewRequest.Status.CANCELLED:
        with translation.override(language):
            response = render(
                request,
                "customer/review_link_expired.html",
                {"shop": review_request.shop, "cancelled": review_request.status == ReviewRequest.Status.CANCELLED},
                status=410,
            )
        response["Content-Language"] = language
        return response
    return Opened(review_request, policy, language, expires_at)


def _star_labels() -> list[tuple[int, str]]:
    # Highest first: the stars are laid out right to left so that CSS alone fills those before the chosen one.
    return [(stars, ngettext("%d star", "%d stars", stars) % stars) for stars in range(5, 0, -1)]


def _forms(
    opened: Opened, data=None, files=None, *, stars: int | None = None
) -> tuple[list[ItemReviewForm], NpsForm, SurveyForm]:
    item_forms = []
    star_labels = _star_labels()
    for item in opened.request.items.all():
        existing = getattr(item, "review", None)
        media = list(existing.media.all()) if existing else []
        initial = (
            {"rating": existing.rating, "title": existing.title, "text": existing.text}
            if existing
            else ({"rating": stars} if stars else {})
        )
        form = ItemReviewForm(
            data,
            files,
            prefix=f"item-{item.pk}",
            initial=initial,
            item=item,
            existing=existing,
            media_ids=[entry.pk for entry in media],
        )
        form.media_shown = media
        # Which star is chosen, worked out here rather than in the template: one comparison per star, cheaply.
        chosen = str(form["rating"].value())
        # Text, not numbers: the template prints a number through localization, which costs more than the page's SQL.
        form.star_rows = [(str(value), label, str(value) == chosen) for value, label in star_labels]
        item_forms.append(form)
    nps = getattr(opened.request, "nps", None)
    nps_form = NpsForm(data, prefix="nps", initial={"score": nps.score, "comment": nps.comment} if nps else {})
    chosen_score = str(nps_form["score"].value())
    nps_form.score_rows = [(str(score), str(score) == chosen_score) for score in range(0, 11)]
    survey = opened.survey
    survey_form = SurveyForm(
        data,
        prefix="survey",
        questions=survey.questions if survey and survey.due else [],
        initial={
            f"q{question_id}": answer.choice if answer.choice is not None else answer.text
            for question_id, answer in (survey.answers.items() if survey else ())
        },
    )
    return item_forms, nps_form, survey_form


def _render_page(
    request: HttpRequest, opened: Opened, token: str, item_forms, nps_form, survey_form, *, status: int = 200
):
    policy = opened.policy
    errors = []
    for form in item_forms:
        for name, messages in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            errors.extend(
                f"{form.item.title} · {label}: {message}" if label else f"{form.item.title}: {message}"
                for message in messages
            )
    for form in (nps_form, survey_form):
        for name, messages in form.errors.items():
            errors.extend(f"{form.fields[name].label}: {message}" for message in messages)
    context = {
        "shop": opened.request.shop,
        "order": opened.request.order,
        "item_forms": item_forms,
        "nps_form": nps_form,
        "ask_nps": opened.survey is None or opened.survey.due,
        "survey_form": survey_form,
        "errors": errors,
        "page_errors": getattr(request, "page_errors", []),
        "coupon_offered": bool(policy.coupon_code or opened.request.coupon_code),
        "coupon_description": policy.coupon_description,
        "expires_at": opened.expires_at,
        "token": token,
        "title_max": TITLE_MAX,
        "text_max": TEXT_MAX,
        "comment_max": COMMENT_MAX,
        "survey_text_max": SURVEY_TEXT_MAX,
        "photo_limit_mb": PHOTO_MAX_BYTES // MB,
        "video_limit_mb": VIDEO_MAX_BYTES // MB,
        "video_limit_seconds": VIDEO_MAX_SECONDS,
        "answered": opened.request.status == ReviewRequest.Status.REVIEWED,
    }
    response = render(request, "customer/review_page.html", context, status=status)
    response["Content-Language"] = opened.language
    return response


def _stars_from(request: HttpRequest) -> int | None:
    value = request.GET.get("stars", "")
    return int(value) if value in {"1", "2", "3", "4", "5"} else None


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def review_page(request: HttpRequest, token: str) -> HttpResponse:
    """The form (GET, changes nothing) and its submission (POST: stored, then 303 to the thank-you page)."""
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > REQUEST_MAX_BYTES:
            # Refused before reading the body: no file of it is kept.
            opened = _open(request, token)
            if not isinstance(opened, Opened):
                return opened
            with translation.override(opened.language):
                response = render(
                    request,
                    "customer/review_too_large.html",
                    {"shop": opened.request.shop, "limit_mb": REQUEST_MAX_BYTES // MB, "token": token},
                    status=413,
                )
            response["Content-Language"] = opened.language
            return response
    opened = _open(request, token)
    if not isinstance(opened, Opened):
        return opened
    opened.survey = page_survey(
        request=opened.request, policy=opened.policy, language=opened.language, now=timezone.now()
    )
    with translation.override(opened.language):
        if request.method != "POST":
            item_forms, nps_form, survey_form = _forms(opened, stars=_stars_from(request))
            return _render_page(request, opened, token, item_forms, nps_form, survey_form)
        item_forms, nps_form, survey_form = _forms(opened, request.POST, request.FILES)
        # Every form is checked, so the customer sees all problems at once.
        checked = [form.is_valid() for form in [*item_forms, nps_form, survey_form]]
        if all(checked):
            answers = [
                ItemAnswer(
                    item_id=form.item.pk,
                    rating=form.cleaned_data["rating"],
                    title=form.cleaned_data["title"].strip(),
                    text=form.cleaned_data["text"].strip(),
                    photos=form.cleaned_data["photos"],
                    video=form.cleaned_data["video"],
                    remove_media_ids=frozenset(form.cleaned_data["remove_media"]),
                    field_prefix=f"{form.prefix}-",
                )
                for form in item_forms
            ]
            nps = NpsAnswer(score=nps_form.cleaned_data["score"], comment=nps_form.cleaned_data["comment"].strip())
            if not opened.survey.due:
                nps = None  # not asked on this page: the customer answered recently
            survey = [
                SurveyAnswerInput(question_id=question_id, text=text, choice=choice)
                for question_id, text, choice in survey_form.answers()
            ]
            nothing = all(answer.rating is None for answer in answers) and (nps is None or nps.score is None)
            if nothing and not survey and opened.request.status != ReviewRequest.Status.REVIEWED:
                request.page_errors = [
                    _("Choose the stars for an item, or answer the question at the end.")
                    if opened.survey.due
                    else _("Choose the stars for an item.")
                ]
            else:
                try:
                    review_page_submit(
                        request=opened.request, answers=answers, nps=nps, survey=survey, language=opened.language
                    )
                except ValidationError as error:
                    _errors_to_forms(error, item_forms, request)
                else:
                    return HttpResponseRedirect(reverse("review-thanks", args=[token]), status=303)
        return _render_page(request, opened, token, item_forms, nps_form, survey_form, status=400)


def _errors_to_forms(error: ValidationError, item_forms: list[ItemReviewForm], request: HttpRequest) -> None:
    by_prefix = {f"{form.prefix}-": form for form in item_forms}
    page_errors = []
    for key, messages in (error.message_dict if hasattr(error, "error_dict") else {"": error.messages}).items():
        form = next((form for prefix, form in by_prefix.items() if key.startswith(prefix)), None)
        name = key.removeprefix(form.prefix + "-") if form else ""
        if form is not None and name in form.fields:
            for message in messages:
                form.add_error(name, message)
        else:
            page_errors.extend(messages)
    request.page_errors = page_errors


@never_cache
@require_http_methods(["GET", "HEAD"])
def review_thanks(request: HttpRequest, token: str) -> HttpResponse:
    opened = _open(request, token)
    if not isinstance(opened, Opened):
        return opened
    review_request = opened.request
    reviews = [item.review for item in review_request.items.all() if hasattr(item, "review")]
    nps = getattr(review_request, "nps", None)
    if not reviews and nps is None:
        return HttpResponseRedirect(reverse("review-page", args=[token]))
    policy = opened.policy
    with translation.override(opened.language):
        response = render(
            request,
            "customer/review_thanks.html",
            {
                "shop": review_request.shop,
                "reviews": reviews,
                "coupon_code": review_request.coupon_code if reviews else "",
                "coupon_description": policy.coupon_description,
                "unhappy": any(review.rating <= 2 for review in reviews) or (nps is not None and nps.score <= 6),
                "expires_at": opened.expires_at,
                "token": token,
            },
        )
    response["Content-Language"] = opened.language
    return response


@require_http_methods(["GET", "HEAD"])
def review_media(request: HttpRequest, token: str, media_id: int) -> HttpResponse:
    """A photo or video of this request's reviews, for the customer who has the link; anything else is 404."""
    opened = _open(request, token)
    if not isinstance(opened, Opened):
        return opened if opened.status_code == 404 else _not_found(request)
    media = ReviewMedia.objects.filter(pk=media_id, review__request=opened.request).first()
    if media is None:
        return _not_found(request)
    return media_file_response(media)


@require_http_methods(["GET", "HEAD"])
def review_public_media(request: HttpRequest, token: str) -> HttpResponse:
    """A photo or video of a published review, from the storefront API's signed address; anything else is 404."""
    media = public_media_get(token)
    if media is None:
        return _not_found(request)
    response = media_file_response(media)
    response["Cache-Control"] = "public, max-age=3600"
    # Storefront pages on the shop's own address show it (an <img> from another origin).
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def media_file_response(media: ReviewMedia) -> FileResponse:
    try:
        handle = media.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is gone.") from None
    response = FileResponse(handle, content_type=media.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'"
    return response

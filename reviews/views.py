"""The review page customers reach from a review request: no login, a signed token in the URL.

GET shows the form in the customer's language (a `?stars=N` from a star tapped in the message only
pre-fills it); POST stores and redirects to the thank-you page (post/redirect/get). A tampered,
made-up or other shop's token gets the friendly 404 page that says nothing about anything
existing; a genuine but expired link, or one whose request was cancelled, a friendly 410 page.

The form is exempt from CSRF, like the unsubscribe page and the status page's endpoints: nothing here rests
on a cookie or a login, the signed token in the URL is what allows a POST, and a site that does not know
it cannot make one that reaches a review (it gets the 404 page). Whoever knows it can post from anywhere,
with or without a CSRF token. The customer's browser needs no cookie, and GET sets none.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reviews.forms import COMMENT_MAX, SURVEY_TEXT_MAX, TEXT_MAX, TITLE_MAX, ItemReviewForm, NpsForm, SurveyForm
from reviews.links import token_read
from reviews.models import ReviewMedia, ReviewRequest
from reviews.page_sections import (
    ItemFields,
    NpsFields,
    SurveyFields,
    item_sections_html,
    nps_section_html,
    survey_sections_html,
)
from reviews.selectors.page import ReviewPage, review_page_get
from reviews.selectors.storefront import public_media_get
from reviews.selectors.surveys import PageSurvey, page_survey
from reviews.services.submissions import ItemAnswer, NpsAnswer, SurveyAnswerInput, review_page_submit
from reviews.uploads import PHOTO_MAX_BYTES, REQUEST_MAX_BYTES, VIDEO_MAX_BYTES, VIDEO_MAX_SECONDS

MB = 1024 * 1024


@dataclass
class Opened:
    page: ReviewPage
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
    page = review_page_get(request_id=payload.request_id, shop_id=payload.shop_id)
    if page is None:
        return _not_found(request)
    language = page.language
    expires_at = payload.expires_at(valid_days=page.policy.link_valid_days)
    if timezone.now() >= expires_at or page.cancelled:
        with translation.override(language):
            response = render(
                request,
                "customer/review_link_expired.html",
                {"shop": page.shop, "cancelled": page.cancelled},
                status=410,
            )
        response["Content-Language"] = language
        return response
    return Opened(page, language, expires_at)


def _forms(opened: Opened, data, files) -> tuple[list[ItemReviewForm], NpsForm, SurveyForm]:
    """The page's forms bound to what the customer sent (POST)."""
    item_forms = [
        ItemReviewForm(
            data,
            files,
            prefix=f"item-{item.id}",
            item=item,
            reviewed=item.review is not None,
            media_ids=[media.id for media in item.review.media] if item.review else [],
        )
        for item in opened.page.items
    ]
    nps_form = NpsForm(data, prefix="nps")
    survey = opened.survey
    survey_form = SurveyForm(data, prefix="survey", questions=survey.questions if survey and survey.due else [])
    return item_forms, nps_form, survey_form


def _text(value) -> str:
    return "" if value is None else str(value)


def _fields_shown(opened: Opened, *, stars: int | None) -> tuple[list[ItemFields], NpsFields, list[SurveyFields]]:
    """What the page shows filled in on GET: the customer's earlier answers, else the stars tapped in the message."""
    items = []
    for item in opened.page.items:
        review = item.review
        items.append(
            ItemFields(
                prefix=f"item-{item.id}",
                item_title=item.title,
                rating=str(review.rating) if review else _text(stars),
                title=review.title if review else "",
                text=review.text if review else "",
                reply_text=review.reply_text if review else "",
                media=review.media if review else [],
            )
        )
    nps = opened.page.nps
    nps_fields = NpsFields(score=str(nps.score), comment=nps.comment) if nps else NpsFields(score="", comment="")
    survey = opened.survey
    answers = survey.answers if survey else {}
    questions = [
        SurveyFields(
            shown=shown,
            name=f"survey-q{shown.question.pk}",
            value=_survey_answer_text(answers.get(shown.question.pk)),
        )
        for shown in (survey.questions if survey and survey.due else [])
    ]
    return items, nps_fields, questions


def _survey_answer_text(answer) -> str:
    if answer is None:
        return ""
    return str(answer.choice) if answer.choice is not None else answer.text


def _fields_sent(
    opened: Opened, item_forms: list[ItemReviewForm], nps_form: NpsForm, survey_form: SurveyForm
) -> tuple[list[ItemFields], NpsFields, list[SurveyFields]]:
    """What the page shows filled in after a POST that needs fixing: what the customer sent, and the problems."""
    items = [
        ItemFields(
            prefix=form.prefix,
            item_title=form.item.title,
            rating=_text(form["rating"].value()),
            title=_text(form["title"].value()),
            text=_text(form["text"].value()),
            reply_text=form.item.review.reply_text if form.item.review else "",
            media=form.item.review.media if form.item.review else [],
            errors=dict(form.errors),
        )
        for form in item_forms
    ]
    nps_fields = NpsFields(
        score=_text(nps_form["score"].value()), comment=_text(nps_form["comment"].value()), errors=dict(nps_form.errors)
    )
    questions = [
        SurveyFields(
            shown=shown,
            name=field.html_name,
            value=_text(field.value()),
            errors=list(field.errors),
        )
        for shown, field in survey_form.rows()
    ]
    return items, nps_fields, questions


def _render_page(
    request: HttpRequest,
    opened: Opened,
    token: str,
    shown: tuple[list[ItemFields], NpsFields, list[SurveyFields]],
    *,
    errors: list[str] = (),
    status: int = 200,
):
    page = opened.page
    items, nps, questions = shown
    context = {
        "shop": page.shop,
        "order_number": page.order_number,
        "item_sections": item_sections_html(
            items,
            token=token,
            shop_name=page.shop.name,
            photo_limit_mb=PHOTO_MAX_BYTES // MB,
            video_limit_mb=VIDEO_MAX_BYTES // MB,
            video_limit_seconds=VIDEO_MAX_SECONDS,
            title_max=TITLE_MAX,
            text_max=TEXT_MAX,
        ),
        "nps_section": nps_section_html(nps, shop_name=page.shop.name, comment_max=COMMENT_MAX)
        if opened.survey is None or opened.survey.due
        else "",
        "survey_sections": survey_sections_html(questions, text_max=SURVEY_TEXT_MAX),
        "errors": errors,
        "page_errors": getattr(request, "page_errors", []),
        "coupon_offered": bool(page.policy.coupon_code or page.coupon_code),
        "coupon_description": page.policy.coupon_description,
        "expires_at": opened.expires_at,
        "answered": page.reviewed,
    }
    response = render(request, "customer/review_page.html", context, status=status)
    response["Content-Language"] = opened.language
    return response


def _errors_listed(item_forms: list[ItemReviewForm], nps_form: NpsForm, survey_form: SurveyForm) -> list[str]:
    """Every problem of the forms, each naming its item and field, for the list at the top of the page."""
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
    return errors


def _stars_from(request: HttpRequest) -> int | None:
    value = request.GET.get("stars", "")
    return int(value) if value in {"1", "2", "3", "4", "5"} else None


@csrf_exempt  # the token in the URL is the secret; see the module's docstring
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
                    {"shop": opened.page.shop, "limit_mb": REQUEST_MAX_BYTES // MB, "token": token},
                    status=413,
                )
            response["Content-Language"] = opened.language
            return response
    opened = _open(request, token)
    if not isinstance(opened, Opened):
        return opened
    opened.survey = page_survey(page=opened.page, language=opened.language, now=timezone.now())
    with translation.override(opened.language):
        if request.method != "POST":
            return _render_page(request, opened, token, _fields_shown(opened, stars=_stars_from(request)))
        item_forms, nps_form, survey_form = _forms(opened, request.POST, request.FILES)
        # Every form is checked, so the customer sees all problems at once.
        checked = [form.is_valid() for form in [*item_forms, nps_form, survey_form]]
        if all(checked):
            answers = [
                ItemAnswer(
                    item_id=form.item.id,
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
            if nothing and not survey and not opened.page.reviewed:
                request.page_errors = [
                    _("Choose the stars for an item, or answer the question at the end.")
                    if opened.survey.due
                    else _("Choose the stars for an item.")
                ]
            else:
                try:
                    review_page_submit(
                        request=ReviewRequest.objects.get(pk=opened.page.request_id),
                        answers=answers,
                        nps=nps,
                        survey=survey,
                        language=opened.language,
                    )
                except ValidationError as error:
                    _errors_to_forms(error, item_forms, request)
                else:
                    return HttpResponseRedirect(reverse("review-thanks", args=[token]), status=303)
        return _render_page(
            request,
            opened,
            token,
            _fields_sent(opened, item_forms, nps_form, survey_form),
            errors=_errors_listed(item_forms, nps_form, survey_form),
            status=400,
        )


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
    page = opened.page
    reviews = [item.review for item in page.items if item.review is not None]
    nps = page.nps
    if not reviews and nps is None:
        return HttpResponseRedirect(reverse("review-page", args=[token]))
    policy = page.policy
    with translation.override(opened.language):
        response = render(
            request,
            "customer/review_thanks.html",
            {
                "shop": page.shop,
                "reviews": reviews,
                "coupon_code": page.coupon_code if reviews else "",
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
    media = ReviewMedia.objects.filter(pk=media_id, review__request_id=opened.page.request_id).first()
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

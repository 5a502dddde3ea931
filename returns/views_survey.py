"""The one-question satisfaction survey page customers reach from the message sent after a case is resolved.

No login: a signed token in the URL (returns.links.survey). GET shows the question in the customer's language;
only POST answers it (once), then redirects to the thank-you page (post/redirect/get). A tampered or made-up
token gets the friendly 404 page; a genuine but expired link a friendly 410 page; an answered survey the thanks.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from merchant.actors import Actor
from returns.links.survey import survey_token_read
from returns.models import Case
from returns.services.satisfaction import COMMENT_MAX_LENGTH, satisfaction_answer

SCORES = range(1, 6)


def _language(case: Case) -> str:
    available = {code for code, _name in settings.LANGUAGES}
    order_language = case.order.language if case.order_id else ""
    customer_language = case.customer.language if case.customer_id else ""
    for language in (case.language, order_language, customer_language, case.shop.default_language):
        if language in available:
            return language
    return settings.LANGUAGE_CODE


def _render(request, template: str, case: Case, context: dict, *, status: int = 200) -> HttpResponse:
    language = _language(case)
    with translation.override(language):
        response = render(request, template, {"shop": case.shop, "case": case, **context}, status=status)
    response["Content-Language"] = language
    return response


def _open(request: HttpRequest, token: str) -> Case | HttpResponse:
    payload = survey_token_read(token)
    case = (
        Case.objects.select_related("shop", "order", "customer")
        .filter(pk=payload.case_id, shop_id=payload.shop_id)
        .first()
        if payload
        else None
    )
    if case is None:
        return render(request, "customer/link_not_found.html", status=404)
    if case.satisfaction_answered_at is None and timezone.now() >= payload.expires_at:
        return _render(request, "customer/survey_expired.html", case, {}, status=410)
    return case


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    opened = _open(request, token)
    if isinstance(opened, HttpResponse):
        return opened
    case = opened
    thanks = reverse("satisfaction-survey-thanks", args=[token])
    if case.satisfaction_answered_at is not None:
        return (
            HttpResponseRedirect(thanks)
            if request.method == "POST"
            else _render(request, "customer/survey_thanks.html", case, {"already": True})
        )
    error = ""
    chosen = request.GET.get("score", "") if request.method != "POST" else request.POST.get("score", "")
    comment = request.POST.get("comment", "") if request.method == "POST" else ""
    if request.method == "POST":
        try:
            with translation.override(_language(case)):
                satisfaction_answer(
                    case=case,
                    score=int(chosen) if chosen.isdigit() else 0,
                    comment=comment,
                    actor=Actor.customer(str(case.customer or "customer")),
                )
            return HttpResponseRedirect(thanks, status=303)
        except ValidationError as invalid:
            with translation.override(_language(case)):
                error = " ".join(message for messages in invalid.message_dict.values() for message in messages)
    context = {
        "scores": [(str(score), str(score) == chosen) for score in SCORES],
        "comment": comment,
        "comment_max": COMMENT_MAX_LENGTH,
        "error": error,
    }
    return _render(request, "customer/survey.html", case, context, status=400 if error else 200)


@never_cache
@require_http_methods(["GET", "HEAD"])
def survey_thanks(request: HttpRequest, token: str) -> HttpResponse:
    opened = _open(request, token)
    if isinstance(opened, HttpResponse):
        return opened
    if opened.satisfaction_answered_at is None:
        return HttpResponseRedirect(reverse("satisfaction-survey", args=[token]))
    return _render(request, "customer/survey_thanks.html", opened, {"already": False})

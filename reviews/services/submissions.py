"""What the customer sends from the review page: a review per item, photos and a video, the NPS and survey answers."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from reviews.models import (
    NpsResponse,
    Review,
    ReviewEvent,
    ReviewMedia,
    ReviewPolicy,
    ReviewRequest,
    SurveyAnswer,
    SurveyQuestion,
)
from reviews.screening import review_flags, spam_fingerprint
from reviews.selectors.surveys import surveyed_since
from reviews.services.attention import attention_for_nps, attention_for_review
from reviews.services.moderation import review_event_write
from reviews.services.referrals import referral_invite_after_answer
from reviews.services.requests import review_request_mark_reviewed
from reviews.uploads import PHOTOS_PER_REVIEW, VIDEOS_PER_REVIEW, PreparedFile

SPAM_LOOKBACK = dt.timedelta(days=90)
Action = ReviewEvent.Action


@dataclass(frozen=True)
class ItemAnswer:
    """The customer's answer for one item. No rating: the item is left unreviewed (or its review unchanged)."""

    item_id: int
    rating: int | None
    title: str = ""
    text: str = ""
    photos: list[PreparedFile] = field(default_factory=list)
    video: PreparedFile | None = None
    remove_media_ids: frozenset[int] = frozenset()
    field_prefix: str = ""  # the form's prefix, so errors name the field the customer sees


@dataclass(frozen=True)
class NpsAnswer:
    score: int | None
    comment: str = ""


@dataclass(frozen=True)
class SurveyAnswerInput:
    """An answer to one of the shop's survey questions: words, or a choice (1 = the first) with its words as shown."""

    question_id: int
    text: str = ""
    choice: int | None = None


@dataclass
class SubmitResult:
    reviews: list[Review] = field(default_factory=list)
    changed: bool = False  # False: everything sent was stored already (a repeated submission)


def _fingerprint_hash(review: Review) -> str:
    words = spam_fingerprint(f"{review.title} {review.text}")
    return hashlib.sha256(words.encode()).hexdigest() if words else ""


def _screen(review: Review, *, regions: list[str]) -> None:
    review.fingerprint = _fingerprint_hash(review)
    duplicate = bool(review.fingerprint) and (
        Review.objects.filter(
            shop_id=review.shop_id,
            fingerprint=review.fingerprint,
            submitted_at__gte=timezone.now() - SPAM_LOOKBACK,
        )
        .exclude(pk=review.pk)
        .exists()
    )
    flags = review_flags(title=review.title, text=review.text, regions=regions, duplicate_of_another=duplicate)
    review.flags = [flag.code for flag in flags]
    review.flag_details = "; ".join(f"{flag.code}: {flag.detail}" for flag in flags)


def _media_add(review: Review, answer: ItemAnswer) -> bool:
    """Add the new files, remove the ones the customer took off. Returns whether anything changed."""
    changed = False
    if answer.remove_media_ids:
        removed = list(review.media.filter(pk__in=answer.remove_media_ids))
        for media in removed:
            media.file.delete(save=False)
            media.delete()
        changed = bool(removed)
    known = set(review.media.values_list("sha256", flat=True))
    new = [prepared for prepared in _files(answer) if prepared.sha256 not in known]
    for prepared in new:
        media = ReviewMedia(
            review=review,
            kind=prepared.kind,
            content_type=prepared.content_type,
            size_bytes=len(prepared.content),
            width=prepared.width,
            height=prepared.height,
            original_name=prepared.original_name,
            sha256=prepared.sha256,
        )
        media.file.save("upload", ContentFile(prepared.content), save=False)
        media.save()
        known.add(prepared.sha256)
        changed = True
    return changed


def _files(answer: ItemAnswer) -> list[PreparedFile]:
    return [*answer.photos, *([answer.video] if answer.video else [])]


def _answers_check(items: dict, answers: list[ItemAnswer]) -> None:
    """Everything that could refuse the submission, checked before anything (a file included) is written."""
    errors: dict[str, list[str]] = {}
    for answer in answers:
        item = items.get(answer.item_id)
        if item is None:
            raise ValidationError(_("That item is not part of this review request."))
        review = getattr(item, "review", None)
        if review is None and answer.rating is None:
            if answer.photos or answer.video:
                errors[f"{answer.field_prefix}rating"] = [_("Choose the stars for the item your photos show.")]
            continue
        kept = [media for media in (review.media.all() if review else []) if media.pk not in answer.remove_media_ids]
        known = {media.sha256 for media in kept}
        new = {prepared.sha256: prepared for prepared in _files(answer) if prepared.sha256 not in known}.values()
        for kind, limit, field_name, words in (
            ("photo", PHOTOS_PER_REVIEW, "photos", _("A review can have up to %d photos.")),
            ("video", VIDEOS_PER_REVIEW, "video", _("A review can have %d video; remove the one you added first.")),
        ):
            count = sum(1 for media in kept if media.kind == kind) + sum(1 for file in new if file.kind == kind)
            if count > limit:
                errors[f"{answer.field_prefix}{field_name}"] = [words % limit]
    if errors:
        raise ValidationError(errors)


def _status_after_screening(review: Review, *, actor: Actor, now: dt.datetime, new: bool = False) -> None:
    """Publish at once unless a check flagged it; a published review whose edit trips a check waits again."""
    if review.status == Review.Status.HIDDEN:
        return  # a person hid it; the customer's edit does not undo that
    target = Review.Status.PENDING if review.flags else Review.Status.PUBLISHED
    if target == review.status:
        if new and review.flags:
            review_event_write(
                review=review, action=Action.FLAGGED, to_status=target, actor=actor, note=review.flag_details
            )
        return
    before = review.status
    review.status = target
    if target == Review.Status.PUBLISHED:
        review.published_at = now
    review.save(update_fields=["status", "published_at", "updated_at"])
    action = Action.FLAGGED if target == Review.Status.PENDING else Action.PUBLISHED
    note = review.flag_details if target == Review.Status.PENDING else _("No check flagged it: published at once.")
    review_event_write(review=review, action=action, from_status=before, to_status=target, actor=actor, note=note)


def _review_save(
    *, request: ReviewRequest, item, answer: ItemAnswer, policy: ReviewPolicy, language: str, now: dt.datetime
) -> tuple[Review | None, bool]:
    review = getattr(item, "review", None)
    customer = Actor.customer(request.customer.email or str(request.customer))
    checks = Actor.system("automatic checks")
    regions = [request.customer.country.code or "", request.shop.country.code or ""]
    if review is None and answer.rating is None:
        return None, False
    if review is None:
        review = Review(
            shop_id=request.shop_id,
            request=request,
            item=item,
            product_id=item.product_id,
            product_title=item.title,
            customer_id=request.customer_id,
            order_id=request.order_id,
            rating=answer.rating,
            title=answer.title,
            text=answer.text,
            language=language,
            submitted_at=now,
            source=Review.Source.REVIEW_REQUEST,
            incentivized=bool(request.coupon_code),
            incentive_note=policy.coupon_description if request.coupon_code else "",
        )
        _screen(review, regions=regions)
        review.full_clean(exclude=["request", "item", "product", "customer", "order"])
        review.save()
        review_event_write(review=review, action=Action.SUBMITTED, to_status=review.status, actor=customer)
        _media_add(review, answer)
        _status_after_screening(review, actor=checks, now=now, new=True)
        attention_for_review(review=review, now=now)
        return review, True
    rating = answer.rating if answer.rating is not None else review.rating
    words_changed = (rating, answer.title, answer.text) != (review.rating, review.title, review.text)
    media_changed = _media_add(review, answer)
    if not words_changed and not media_changed:
        return review, False
    review.edited_at = now
    if not words_changed:
        review.save(update_fields=["edited_at", "updated_at"])
        return review, True
    before = (review.rating, review.title, review.text)
    review.rating, review.title, review.text = rating, answer.title, answer.text
    _screen(review, regions=regions)
    review.full_clean(exclude=["request", "item", "product", "customer", "order"])
    review.save(
        update_fields=["rating", "title", "text", "edited_at", "flags", "flag_details", "fingerprint", "updated_at"]
    )
    review_event_write(
        review=review,
        action=Action.EDITED,
        from_status=review.status,
        to_status=review.status,
        actor=customer,
        note=_("Was %(stars)d stars: “%(title)s” %(text)s")
        % {"stars": before[0], "title": before[1], "text": before[2]},
    )
    _status_after_screening(review, actor=checks, now=now)
    attention_for_review(review=review, now=now)
    return review, True


@transaction.atomic
def review_page_submit(
    *,
    request: ReviewRequest,
    answers: list[ItemAnswer],
    nps: NpsAnswer | None,
    language: str,
    survey: list[SurveyAnswerInput] | None = None,
    now: dt.datetime | None = None,
) -> SubmitResult:
    """Store what the customer sent from the review page of `request`.

    Guarantees: one review per item, created once and edited afterwards (the same submission sent
    twice stores once; the same file twice is kept once); a review publishes at once unless a check
    flags it (never because of its stars); 1-2 stars or an NPS score of 0-6 opens a "needs
    attention" item; the first answer marks the request reviewed, cancels the reminders not sent yet
    and, when the shop offers a coupon for any honest review, gives that coupon and marks the
    reviews incentivized. The NPS and survey answers are kept only when the page asked them: a customer
    who answered within the policy's `nps_interval_days` (on another request's page) is not asked, and
    such answers are ignored. A promoter or a 4-5 star reviewer of a shop with referrals on is invited
    to refer friends, once (`referral_invite_after_answer`). Raises ValidationError naming the form field
    on a problem; nothing is stored then, no file either.
    """
    now = now or timezone.now()
    locked = ReviewRequest.objects.select_for_update().select_related("shop", "customer").get(pk=request.pk)
    items = {item.pk: item for item in locked.items.select_related("review").prefetch_related("review__media")}
    _answers_check(items, answers)
    policy = ReviewPolicy.objects.filter(shop_id=locked.shop_id).first() or ReviewPolicy(shop_id=locked.shop_id)
    rated = any(answer.rating is not None for answer in answers) or any(
        hasattr(item, "review") for item in items.values()
    )
    if rated and not locked.coupon_code and policy.coupon_code:
        # Frozen at the first review: the offer the customer wrote under, whatever its rating.
        locked.coupon_code = policy.coupon_code
        locked.save(update_fields=["coupon_code", "updated_at"])
    result = SubmitResult()
    for answer in answers:
        review, changed = _review_save(
            request=locked, item=items[answer.item_id], answer=answer, policy=policy, language=language, now=now
        )
        if review is not None:
            result.reviews.append(review)
        result.changed |= changed
    nps_response = NpsResponse.objects.filter(request=locked).first()
    asking = (nps is not None and nps.score is not None) or bool(survey)
    if asking and _survey_due(locked, policy, answered_here=nps_response is not None, now=now):
        if nps is not None and nps.score is not None:
            changed, nps_response = _nps_save(
                request=locked, response=nps_response, answer=nps, language=language, now=now
            )
            result.changed |= changed
        result.changed |= _survey_save(request=locked, inputs=survey or [], language=language, now=now)
    if result.changed:
        review_request_mark_reviewed(request=locked, now=now)
        referral_invite_after_answer(
            policy=policy, customer=locked.customer, reviews=result.reviews, nps=nps_response, now=now
        )
    request.__dict__.update(status=locked.status, coupon_code=locked.coupon_code, reviewed_at=locked.reviewed_at)
    return result


def _survey_due(request: ReviewRequest, policy: ReviewPolicy, *, answered_here: bool, now: dt.datetime) -> bool:
    """As `reviews.selectors.surveys.survey_due`: the page asked the questions (kept in step with what it showed)."""
    if answered_here or not policy.nps_interval_days:
        return True
    since = now - dt.timedelta(days=policy.nps_interval_days)
    return not surveyed_since(customer_id=request.customer_id, since=since, except_request_id=request.pk)


def _survey_save(*, request: ReviewRequest, inputs: list[SurveyAnswerInput], language: str, now: dt.datetime) -> bool:
    """Store the answers to the shop's active questions (another shop's or a retired question's are ignored);
    an answer changed later is updated. Returns whether anything changed."""
    given = [entry for entry in inputs if entry.text.strip() or entry.choice is not None]
    if not given:
        return False
    active = set(
        SurveyQuestion.objects.filter(
            shop_id=request.shop_id, is_active=True, pk__in=[entry.question_id for entry in given]
        ).values_list("pk", flat=True)
    )
    existing = {
        answer.question_id: answer
        for answer in SurveyAnswer.objects.filter(request=request, question_id__in=active).select_for_update()
    }
    changed = False
    for entry in given:
        if entry.question_id not in active:
            continue
        text = entry.text.strip()
        answer = existing.get(entry.question_id)
        if answer is not None and (answer.choice, answer.text) == (entry.choice, text):
            continue
        if answer is None:
            answer = SurveyAnswer(
                shop_id=request.shop_id,
                question_id=entry.question_id,
                request=request,
                customer_id=request.customer_id,
                submitted_at=now,
            )
        else:
            answer.edited_at = now
        answer.language, answer.choice, answer.text = language, entry.choice, text
        answer.save()
        changed = True
    return changed


def _nps_save(
    *, request: ReviewRequest, response: NpsResponse | None, answer: NpsAnswer, language: str, now: dt.datetime
) -> tuple[bool, NpsResponse | None]:
    if response is not None and (response.score, response.comment) == (answer.score, answer.comment):
        return False, response
    if response is None:
        response = NpsResponse(
            shop_id=request.shop_id,
            request=request,
            customer_id=request.customer_id,
            order_id=request.order_id,
            language=language,
            submitted_at=now,
        )
    else:
        response.edited_at = now
    response.score, response.comment = answer.score, answer.comment
    response.full_clean(exclude=["request", "customer", "order"])
    response.save()
    attention_for_nps(nps=response, now=now)
    return True, response

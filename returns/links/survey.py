"""The satisfaction survey link: a signed token naming one case of one shop, and the template link carrying it.

`django.core.signing` over (case id, shop id) with its own salt and the moment it was made: nobody can
make one for another case, and it stops working SURVEY_VALID_DAYS after the message carrying it was made.
`{{ links.satisfaction_survey }}` opens the one-question page `/s/<token>` (GET shows it, only POST
answers it, once).
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from journeys.context import LinkSpec
from merchant.signed_links import signed_ids_make, signed_ids_read

SALT = "returns.satisfaction_survey"
SURVEY_TRIGGER = "satisfaction_survey"
SURVEY_VALID_DAYS = 30


def survey_step(case_id: int) -> str:
    """The message step of a case's survey: one per case, so a case resolved twice is asked once."""
    return f"case-{case_id}-survey"


def survey_token(*, case_id: int, shop_id: int) -> str:
    return signed_ids_make(object_id=case_id, shop_id=shop_id, salt=SALT)


def survey_url(*, case_id: int, shop_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse(
        "satisfaction-survey", args=[survey_token(case_id=case_id, shop_id=shop_id)]
    )


@dataclass(frozen=True)
class SurveyToken:
    case_id: int
    shop_id: int
    issued_at: dt.datetime

    @property
    def expires_at(self) -> dt.datetime:
        return self.issued_at + dt.timedelta(days=SURVEY_VALID_DAYS)


def survey_token_read(token: str) -> SurveyToken | None:
    """What a genuine token names and when it was made; None for anything tampered with or made up."""
    ids = signed_ids_read(token, salt=SALT)
    return None if ids is None else SurveyToken(case_id=ids.object_id, shop_id=ids.shop_id, issued_at=ids.issued_at)


def _case_id_of(message) -> int | None:
    parts = message.step.split("-")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "case" and parts[1].isdigit() else None


def _survey_link(message) -> str:
    if message.trigger != SURVEY_TRIGGER:
        return ""
    case_id = _case_id_of(message)
    if case_id is None:  # a preview in the admin: an example of the link, which opens nothing
        return f"{settings.PUBLIC_BASE_URL}/s/example"
    return survey_url(case_id=case_id, shop_id=message.shop_id)


SURVEY_LINKS = [
    LinkSpec(
        name="satisfaction_survey",
        description="One-question satisfaction survey of a resolved support case (satisfaction surveys only)",
        worst_case="https://care.example.com/s/" + "x" * 64,
        make=_survey_link,
    )
]

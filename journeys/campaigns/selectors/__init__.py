"""Reads of holiday greetings and campaigns (tenancy-safe: the shop comes from the objects or the caller's
shop ids): `campaigns` (lists, progress), `audiences` (who an audience reaches, a sample of what each
recipient would get), `calendar` (the approved calendar per date, the owner's review)."""

from journeys.campaigns.selectors.audiences import (
    SAMPLE_SIZE,
    AudienceCount,
    SampleRecipient,
    audience_count,
    audience_customers_q,
    audience_sample,
)
from journeys.campaigns.selectors.calendar import (
    CalendarDay,
    CalendarDifference,
    CalendarReview,
    GreetingDate,
    HolidayChoice,
    ReviewRow,
    approved_calendar_list,
    approved_holiday_choices,
    calendar_review,
    greeting_next_dates,
)
from journeys.campaigns.selectors.campaigns import (
    CampaignProgress,
    campaign_get,
    campaign_list,
    campaign_messages_sample,
    campaign_progress,
    campaign_test_sends,
)

__all__ = [
    "SAMPLE_SIZE",
    "AudienceCount",
    "CalendarDay",
    "CalendarDifference",
    "CalendarReview",
    "CampaignProgress",
    "GreetingDate",
    "HolidayChoice",
    "ReviewRow",
    "SampleRecipient",
    "approved_calendar_list",
    "approved_holiday_choices",
    "audience_count",
    "audience_customers_q",
    "audience_sample",
    "calendar_review",
    "campaign_get",
    "campaign_list",
    "campaign_messages_sample",
    "campaign_progress",
    "campaign_test_sends",
    "greeting_next_dates",
]

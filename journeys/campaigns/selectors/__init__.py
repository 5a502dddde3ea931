"""Reads of holiday greetings and campaigns (tenancy-safe: the shop comes from the objects or the caller's shop ids)."""

from journeys.campaigns.selectors.campaigns import (
    AudienceCount,
    CampaignProgress,
    audience_count,
    campaign_get,
    campaign_list,
    campaign_progress,
    campaign_test_sends,
)

__all__ = [
    "AudienceCount",
    "CampaignProgress",
    "audience_count",
    "campaign_get",
    "campaign_list",
    "campaign_progress",
    "campaign_test_sends",
]

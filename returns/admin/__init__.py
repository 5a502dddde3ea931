"""The returns admin: policy and support settings, return requests, refunds, disputes, the support queue."""

from returns.admin import cases, disputes, faq, refunds, requests, settings  # noqa: F401

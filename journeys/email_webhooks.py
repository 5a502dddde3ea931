"""django-anymail's tracking webhooks (one URL per ESP), closed until a webhook secret is configured.

Anymail accepts unauthenticated posts when `ANYMAIL["WEBHOOK_SECRET"]` is unset (with a warning
only); a forged bounce would opt customers out, so these answer 403 until it is set. Inbound
mail webhooks are not routed: nothing here reads inbound mail.
"""

import functools

from anymail import urls as anymail_urls
from anymail.utils import get_anymail_setting
from django.urls import URLPattern

from merchant.http_errors import error_response

app_name = "anymail"  # keeps anymail's URL names: reverse("anymail:postmark_tracking_webhook")


def _secret_required(view):
    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if not get_anymail_setting("webhook_secret", default=None):
            return error_response(
                403, "not_configured", "Email event webhooks are off until ANYMAIL_WEBHOOK_SECRET is set."
            )
        return view(request, *args, **kwargs)

    return guarded


urlpatterns = [
    URLPattern(pattern.pattern, _secret_required(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
    if pattern.name.endswith("_tracking_webhook") or pattern.name == "mandrill_webhook"
]

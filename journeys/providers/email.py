"""Email through Django's email backend (SMTP, or any backend such as django-anymail's).

Every email carries `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 2369, RFC 8058) for
its message, and names the message in anymail `metadata`, so ESP events find it even before
the ESP's id is recorded. The ESP's message id (anymail) is the provider id when there is one:
that is what its events quote; otherwise the Message-ID header we set.
"""

import smtplib
from email.utils import formataddr, make_msgid, parseaddr

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused, AnymailUnsupportedFeature
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME

from journeys.providers.base import Envelope, Outcome, Provider, SendResult
from journeys.services.unsubscribe import unsubscribe_headers

# Key of our message id in anymail metadata; ESPs echo metadata in their tracking events.
METADATA_KEY = "journeys_message"


class DjangoEmailProvider(Provider):
    name = "email"
    concurrency = 4

    def send(self, envelope: Envelope) -> SendResult:
        _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        message_id = make_msgid(domain=str(DNS_NAME))  # fixed here so the outbox can name it
        email = EmailMultiAlternatives(
            subject=envelope.subject,
            body=envelope.body,
            from_email=formataddr((envelope.sender_name, address)) if envelope.sender_name else address,
            to=[envelope.to],
            reply_to=[envelope.reply_to] if envelope.reply_to else None,
            headers={
                "Message-ID": message_id,
                **unsubscribe_headers(message_id=envelope.message_id),
                **envelope.headers,
            },
        )
        # Read by anymail backends only; other backends ignore the attribute.
        email.metadata = {METADATA_KEY: str(envelope.message_id)}
        if envelope.html_body:
            email.attach_alternative(envelope.html_body, "text/html")
        try:
            _send(email)
        except (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused) as error:
            return SendResult(Outcome.INVALID_ADDRESS, error=str(error)[:500])
        except AnymailAPIError as error:
            # The ESP answered: 429 and 5xx may pass later; any other 4xx will not. No answer: later.
            code = error.status_code
            outcome = Outcome.RETRY if code is None or code == 429 or code >= 500 else Outcome.PERMANENT
            return SendResult(outcome, error_code=str(code or ""), error=str(error)[:500])
        except smtplib.SMTPResponseException as error:
            # 4xx: try later; 5xx: the server will not take it.
            outcome = Outcome.RETRY if 400 <= error.smtp_code < 500 else Outcome.PERMANENT
            return SendResult(outcome, error_code=str(error.smtp_code), error=str(error.smtp_error)[:500])
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            return SendResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}"[:500])
        return SendResult(Outcome.SENT, provider_message_id=_esp_message_id(email) or message_id)


def _send(email: EmailMultiAlternatives) -> None:
    try:
        email.send(fail_silently=False)
    except AnymailUnsupportedFeature:
        # An ESP without metadata (Postal): events are then matched by the ESP's id alone.
        del email.metadata
        email.send(fail_silently=False)


def _esp_message_id(email: EmailMultiAlternatives) -> str:
    status = getattr(email, "anymail_status", None)
    esp_id = getattr(status, "message_id", None)
    # One recipient per email, so one id; anymail gives a set only for several recipients.
    return esp_id if isinstance(esp_id, str) else ""

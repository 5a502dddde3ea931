"""Email through Django's email backend (SMTP, or any backend such as django-anymail's)."""

import smtplib
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME

from journeys.providers.base import Envelope, Outcome, Provider, SendResult


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
            headers={"Message-ID": message_id, **envelope.headers},
        )
        if envelope.html_body:
            email.attach_alternative(envelope.html_body, "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            return SendResult(Outcome.INVALID_ADDRESS, error=str(error)[:500])
        except smtplib.SMTPResponseException as error:
            # 4xx: try later; 5xx: the server will not take it.
            outcome = Outcome.RETRY if 400 <= error.smtp_code < 500 else Outcome.PERMANENT
            return SendResult(outcome, error_code=str(error.smtp_code), error=str(error.smtp_error)[:500])
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            return SendResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}"[:500])
        return SendResult(Outcome.SENT, provider_message_id=message_id)

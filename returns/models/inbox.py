"""Where a shop's customers email the support team: the inbound email route and its signing key."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from merchant.models import BaseModel, Merchant


class EmailInbox(BaseModel):
    """One per shop: customer emails reach the queue at /webhooks/email/inbound/<shop slug>.

    The email provider (Mailgun routes) signs each post with its webhook signing key. A shop with its own
    provider account keeps its key here; without one the deployment's key (ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY)
    is used. Only mail to `address` is filed when it is set: a route sending another shop's mail to this
    URL by mistake files nothing.
    """

    shop = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="email_inbox")
    address = models.EmailField(
        blank=True,
        help_text=_("The support address customers write to, e.g. support@shop.example. Empty: any recipient."),
    )
    # Kept in clear because HMACs are computed with it; never shown again after it is saved.
    signing_key = models.CharField(max_length=200, blank=True, editable=False)
    is_active = models.BooleanField(
        default=True, help_text=_("Off: emails posted for this shop are refused (the provider keeps retrying).")
    )

    class Meta:
        verbose_name = _("email inbox")
        verbose_name_plural = _("email inboxes")

    def __str__(self) -> str:
        return self.address or str(_("Email inbox of %(shop)s") % {"shop": self.shop})

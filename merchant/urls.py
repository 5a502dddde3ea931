from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import RedirectView

from merchant import webhook_views

admin.site.site_header = "Merchant back-office"
admin.site.site_title = "Merchant back-office"
admin.site.index_title = "Post-purchase care"


def health(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("health", health, name="health"),
    path("api/", include("merchant.api.urls")),
    path("api/", include("journeys.api.urls")),
    path("api/", include("reviews.api.urls")),
    path("api/", include("returns.api.urls")),
    path("webhooks/shopify/<slug:shop_slug>", webhook_views.shopify_webhook, name="webhook-shopify"),
    path("webhooks/woocommerce/<slug:shop_slug>", webhook_views.woocommerce_webhook, name="webhook-woocommerce"),
    path("webhooks/twilio/", include("journeys.sms_webhooks")),
    # Customer pages from links in messages (/u/ unsubscribe, /l/ tracked links), email event webhooks.
    path("", include("journeys.urls")),
    # The review page (/r/), its thank-you page and the photos the customer added.
    path("", include("reviews.urls")),
    # The return portal (/returns/), the satisfaction survey after a case is resolved.
    path("", include("returns.urls")),
]

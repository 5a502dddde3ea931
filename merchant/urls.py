from django.contrib import admin
from django.http import HttpResponse
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Merchant back-office"
admin.site.site_title = "Merchant back-office"
admin.site.index_title = "Post-purchase care"


def health(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("health", health, name="health"),
]

from django.utils import timezone

from merchant.selectors import user_time_zone


class ShopTimeZoneMiddleware:
    """Show staff the times of their shop's zone; the database keeps UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = user_time_zone(request.user)
        if zone:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

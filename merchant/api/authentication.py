"""API keys in, a shop out: `Authorization: Bearer <key>`; every view then works in that shop only."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from merchant.models import ApiKey
from merchant.services.api_keys import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Use the header Authorization: Bearer <API key>.")
        api_key = api_key_authenticate(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown or was revoked.")
        return (None, api_key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasSecretApiKey(permissions.BasePermission):
    """Customer and order data need a secret key; publishable keys are for storefront reads."""

    message = "This endpoint needs a secret API key; publishable keys only read storefront data."

    def has_permission(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated("Send an API key: Authorization: Bearer <API key>.")
        return api_key.kind == ApiKey.Kind.SECRET


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """Requests per minute per key, as set on the key (default 600)."""

    scope = "api_key"

    def allow_request(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        self.num_requests, self.duration = api_key.rate_limit_per_minute, 60
        return super().allow_request(request, view)

    def get_rate(self):
        return "600/min"

    def get_cache_key(self, request, view):
        return f"throttle:api_key:{request.auth.pk}"


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes the Bearer API key in the OpenAPI schema."""

    target_class = "merchant.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A secret API key of your shop (Admin › API keys, or `createmerchant`).",
        }

"""Who may read the storefront API, and from which web page: keys, CORS, and a rate per visitor.

Storefront pages call the API from the browser with the shop's *publishable* key (`pk_…`), in the
`Authorization: Bearer` header or as `?key=` (a GET with no custom header needs no CORS preflight). A
*secret* key (`sk_…`) works from the shop's own servers; it is refused in a URL and whenever the call
comes from a web page (it carries an `Origin`), because such a key must never be shipped to browsers.

CORS headers are added only for the key's own shop's `storefront_origin`: another site gets no
`Access-Control-Allow-Origin`, so the browser does not let it read the answer. A preflight (OPTIONS,
sent without the key) is answered for any shop's storefront origin; the real answer still carries
the headers only for the key's shop.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from merchant.models import ApiKey, Merchant
from merchant.services.api_keys import api_key_authenticate
from merchant.web_origins import origin_normalize

QUERY_KEY = "key"
PREFLIGHT_MAX_AGE = 600


class StorefrontKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        raw_key = ""
        if header:
            scheme, _, raw_key = header.partition(" ")
            if scheme != "Bearer" or not raw_key.strip():
                raise exceptions.AuthenticationFailed("Use the header Authorization: Bearer <API key>.")
        elif QUERY_KEY in request.query_params:
            raw_key = request.query_params[QUERY_KEY]
            if raw_key.strip().startswith(f"{ApiKey.PREFIXES[ApiKey.Kind.SECRET]}_"):
                raise exceptions.AuthenticationFailed(
                    "A secret key must never be put in a URL; revoke this one, and use the publishable key (pk_…)."
                )
        if not raw_key.strip():
            return None
        api_key = api_key_authenticate(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown or was revoked.")
        return (None, api_key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class StorefrontRead(permissions.BasePermission):
    """A publishable or secret key of the shop; a secret key only from a server (no `Origin`)."""

    message = (
        "This call comes from a web page: use the shop's publishable key (pk_…). A secret key must never be "
        "used in a browser."
    )

    def has_permission(self, request, view):
        if request.method == "OPTIONS":
            return True
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated(
                "Send the shop's publishable key: Authorization: Bearer pk_…, or ?key=pk_…."
            )
        return api_key.kind == ApiKey.Kind.PUBLISHABLE or "Origin" not in request.headers


class StorefrontRateThrottle(throttling.SimpleRateThrottle):
    """The key's requests per minute, counted per visitor (client address): shoppers share a publishable key."""

    scope = "storefront"

    def allow_request(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        self.num_requests, self.duration = api_key.rate_limit_per_minute, 60
        return super().allow_request(request, view)

    def get_rate(self):
        return "600/min"

    def get_cache_key(self, request, view):
        return f"throttle:storefront:{request.auth.pk}:{self.get_ident(request)}"


def cors_origin_allowed(request) -> str:
    """The request's `Origin` when it is the storefront of the key's shop (or, for a preflight without a key,
    of any shop); "" otherwise."""
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        return ""
    normalized = origin_normalize(origin)
    api_key = request.auth if isinstance(getattr(request, "auth", None), ApiKey) else None
    if api_key is not None:
        return origin if api_key.shop.storefront_origin and normalized == api_key.shop.storefront_origin else ""
    if request.method == "OPTIONS" and Merchant.objects.filter(storefront_origin=normalized).exists():
        return origin
    return ""


def cors_headers_add(request, response) -> None:
    response["Vary"] = ", ".join(part for part in (response.get("Vary"), "Origin") if part)
    allowed = cors_origin_allowed(request)
    if not allowed:
        return
    response["Access-Control-Allow-Origin"] = allowed
    if request.method == "OPTIONS":
        response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Authorization"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)


class StorefrontKeyScheme(OpenApiAuthenticationExtension):
    """Describes the storefront key in the OpenAPI schema: a publishable key in the header or the query."""

    target_class = "reviews.api.access.StorefrontKeyAuthentication"
    name = ["publishableKey", "publishableKeyQuery"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The shop's publishable key (pk_…); a secret key works from servers only.",
            },
            {"type": "apiKey", "in": "query", "name": QUERY_KEY, "description": "The shop's publishable key (pk_…)."},
        ]

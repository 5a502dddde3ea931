"""Every API error as {"error": {"code", "message", "fields"}} with the right status."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from merchant.exceptions import ApplicationError, InvalidTransition
from merchant.platforms.snapshots import PayloadError

CODES = {
    exceptions.ParseError: ("malformed_json", status.HTTP_400_BAD_REQUEST),
    exceptions.NotAuthenticated: ("not_authenticated", status.HTTP_401_UNAUTHORIZED),
    exceptions.AuthenticationFailed: ("bad_api_key", status.HTTP_401_UNAUTHORIZED),
    exceptions.PermissionDenied: ("forbidden", status.HTTP_403_FORBIDDEN),
    exceptions.NotFound: ("not_found", status.HTTP_404_NOT_FOUND),
    exceptions.MethodNotAllowed: ("method_not_allowed", status.HTTP_405_METHOD_NOT_ALLOWED),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    exceptions.Throttled: ("rate_limited", status.HTTP_429_TOO_MANY_REQUESTS),
}


def flatten_fields(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as dotted paths: {"customer": {"phone": [...]}} -> {"customer.phone": [...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            # items of a list field read lines[0]; nested fields read customer.phone
            path = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                path = prefix or "body"
            flat.update(flatten_fields(value, path))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "body": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(flatten_fields(item, f"{prefix}[{index}]"))
        return flat
    return {prefix or "body": [str(detail)]}


def validation_error(fields: dict[str, list[str]], message: str = "Some fields are not valid.") -> Response:
    return error(status.HTTP_422_UNPROCESSABLE_ENTITY, "validation_failed", message, fields)


def error(status_code: int, code: str, message: str, fields: dict | None = None, headers=None) -> Response:
    payload: dict = {"code": code, "message": message}
    if fields:
        payload["fields"] = fields
    return Response({"error": payload}, status=status_code, headers=headers)


def api_exception_handler(exc, context):
    if isinstance(exc, exceptions.ValidationError):
        return validation_error(flatten_fields(exc.detail))
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
        return validation_error(fields)
    if isinstance(exc, PayloadError):
        path, _, reason = str(exc).partition(": ")
        return validation_error({path: [reason or str(exc)]})
    if isinstance(exc, InvalidTransition | ApplicationError):
        return error(status.HTTP_422_UNPROCESSABLE_ENTITY, "not_allowed", str(exc))
    for exception_class, (code, status_code) in CODES.items():
        if isinstance(exc, exception_class):
            headers = {}
            if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
                headers["Retry-After"] = str(int(exc.wait) + 1)
            if status_code == 401:
                headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return error(status_code, code, str(exc.detail), headers=headers)
    response = exception_handler(exc, context)
    if response is not None:
        return error(response.status_code, "error", str(getattr(exc, "detail", exc)))
    return None

"""One JSON error shape for every machine-facing endpoint (REST API and webhooks):

{"error": {"code": "validation_failed", "message": "…", "fields": {"customer.phone": ["…"]}}}
"""

from django.http import JsonResponse

MAX_BODY_BYTES = 1024 * 1024


def error_response(status: int, code: str, message: str, fields: dict | None = None, **headers: str) -> JsonResponse:
    payload: dict = {"code": code, "message": message}
    if fields:
        payload["fields"] = fields
    response = JsonResponse({"error": payload}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class BodySizeLimitMiddleware:
    """Answer 413 before reading a body over 1 MB sent to the API or a webhook."""

    PREFIXES = ("/api/", "/webhooks/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(self.PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(400, "bad_request", "Content-Length is not a number.")
            if length > MAX_BODY_BYTES:
                return error_response(
                    413, "body_too_large", f"The body is {length} bytes; at most {MAX_BODY_BYTES} bytes are accepted."
                )
        return self.get_response(request)

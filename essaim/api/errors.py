"""One JSON shape for every API error: `{"error": {"code", "message", "details"}}`.

Handlers for ninja's own exceptions (validation, HttpError, Http404) and for anything unexpected
are installed on the API; `json_error` serves the URL-level fallbacks (unknown route, method not
allowed) that never reach an operation.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Schema
from ninja.errors import HttpError, ValidationError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("essaim.api")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
}
MESSAGES = {
    400: "The request body is not valid JSON.",
    401: "A valid API token is required (Authorization: Bearer <token>).",
    403: "This token may not do this.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "The request body is too large.",
    422: "The request has invalid values.",
    429: "Too many requests for this token.",
    500: "Internal error: it was logged; try again later.",
}


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(HttpError):
    """An error with a stable machine code, a sentence for a person and optional details."""

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        code: str = "",
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message or MESSAGES.get(status, ""))
        self.code = code or CODES.get(status, "error")
        self.details = details
        self.headers = headers or {}


NUL_MESSAGE = "Text may not contain a NUL character (U+0000)."


class NulCharacter(ValueError):
    """A body string or key with a NUL character (essaim.api.parser); `field`: its dotted path."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def field_error(field: str, message: str) -> ApiError:
    """A 422 naming one field of the request, in the shape of ninja's validation errors."""
    return ApiError(422, details=[{"field": field, "message": message}])


def payload(status: int, message: str = "", code: str = "", details: Any = None) -> dict:
    return {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": message or MESSAGES.get(status, ""),
            "details": details,
        }
    }


def json_error(status: int, message: str = "", code: str = "", details: Any = None) -> HttpResponse:
    return JsonResponse(payload(status, message, code, details), status=status)


def _field_of(loc: list[Any] | tuple[Any, ...]) -> tuple[str, str]:
    """("body", "payload", "consents", 0, "purpose") → ("body", "consents.0.purpose").

    ninja puts the source first and, for a body schema, the handler's parameter name second;
    clients know neither, they know their own field names.
    """
    parts = list(loc)
    source = str(parts.pop(0)) if parts else ""
    if source == "body" and len(parts) > 1:
        parts.pop(0)
    return source, ".".join(str(p) for p in parts)


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        source, field = _field_of(err.get("loc", ()))
        details.append(
            {"in": source, "field": field, "message": err.get("msg", ""), "type": err.get("type")}
        )
    return details


def document_generic_errors(schema: dict[str, Any]) -> None:
    """List on each operation of an OpenAPI schema the errors `install` answers for any
    operation, where it did not list them itself: a body that is not JSON (400) or is above
    DATA_UPLOAD_MAX_MEMORY_SIZE (413) wherever a body is read, invalid values (422) wherever
    there is a body or a parameter. A client (and schemathesis) may rely on the list."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = [400, 413, 422] if "requestBody" in operation else []
            if operation.get("parameters"):
                codes.append(422)
            for code in codes:
                operation["responses"].setdefault(
                    code, {"description": MESSAGES[code], "content": content}
                )


def install(api: NinjaAPI) -> None:
    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        assert isinstance(exc, ValidationError)
        data = payload(422, details=validation_details(exc.errors))
        return api.create_response(request, data, status=422)

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        assert isinstance(exc, HttpError)
        status = exc.status_code
        if isinstance(exc.__cause__, NulCharacter):  # ninja's 400 for what parse_body raised
            status = 422
            detail = {"in": "body", "field": exc.__cause__.field, "message": NUL_MESSAGE}
            data = payload(422, details=[detail])
        elif isinstance(exc, ApiError):
            data = payload(status, exc.message, exc.code, exc.details)
        else:  # ninja's own: unreadable body (400), missing credentials (401)
            data = payload(status, MESSAGES.get(status) or exc.message)
        response = api.create_response(request, data, status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        for name, value in getattr(exc, "headers", {}).items():
            response[name] = value
        return response

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return api.create_response(request, payload(404), status=404)

    def on_too_big(request: HttpRequest, exc: Any) -> HttpResponse:
        return api.create_response(request, payload(413), status=413)

    def on_unexpected(request: HttpRequest, exc: Any) -> HttpResponse:
        # Logged with the traceback; the client gets no detail of our internals, DEBUG or not.
        logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
        return api.create_response(request, payload(500), status=500)

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(Exception, on_unexpected)

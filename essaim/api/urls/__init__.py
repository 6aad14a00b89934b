"""URLs under /api/: ninja's, each wrapped so that even the errors ninja answers outside an
operation (method not allowed, the bare root) use the API's JSON error shape, then a JSON 404
for every other path. The HTML token pages (under /comptes/jetons/) are in urls/web.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, path, re_path
from django.views.decorators.csrf import csrf_exempt

from essaim.api.errors import json_error
from essaim.api.root import api

View = Callable[..., HttpResponse]


def _json_errors(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "\x00" in request.path:
            # No route, tag or anything else of ours has a NUL in its name, and PostgreSQL
            # would fail on the look-up (a 500) rather than find nothing.
            return not_found(request)
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return json_error(404)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(response["Allow"].split(", "))
            response = json_error(405, details={"allowed": allowed})
            response["Allow"] = ", ".join(allowed)
        return response

    # ninja's views are CSRF-exempt (token auth, no cookies); keep that through the wrapper.
    wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return wrapper


def _wrapped(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    result: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern = URLPattern(
                pattern.pattern, _json_errors(pattern.callback), pattern.default_args, pattern.name
            )
        result.append(pattern)
    return result


# No cookie is read and nothing changes here: without the exemption, a POST or DELETE to an
# unknown API path got the CSRF middleware's HTML 403 rather than this JSON 404.
@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return json_error(404, f"No API route at {request.path}.")


_patterns, _app_name, _namespace = api.urls
urlpatterns = [
    # Same (patterns, app_name, namespace) triple as api.urls: reverse("api:…") keeps working.
    path("", (_wrapped(_patterns), _app_name, _namespace)),
    # [\s\S], not ".": a path with an encoded line break (%0A) is answered in JSON too. (An
    # inline (?s) flag would do, but Django's reverse() refuses patterns with one.)
    re_path(r"^(?P<path>[\s\S]*)$", not_found),
]

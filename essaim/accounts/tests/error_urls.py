"""The site's URLs plus two pages that fail on purpose, for test_error_pages.py."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path


def refuse(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("réservé au QG")


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns: list[URLPattern | URLResolver] = [
    path("essai/refus/", refuse),
    path("essai/panne/", crash),
    path("", include("essaim.urls")),
]

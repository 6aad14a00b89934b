"""Keeps a staff session that owes its second factor on the 2FA pages.

After the password a staff user is logged in but not verified; until they type a code (or, with
STAFF_2FA_REQUIRED and no device, enrol one) every page of every app, the Django admin included,
sends them to the step they owe. The API is left alone: it authenticates by Bearer token only
and never reads the session.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from essaim.accounts.services import twofactor

# Where essaim/urls.py mounts the API.
API_PREFIX = "/api/"
# Besides the step's own pages: logging out and switching language.
_OPEN_TO_PENDING = ("accounts:logout", "set_language")
_STEP_PAGES = {
    twofactor.VERIFY: ("accounts:two_factor_verify",),
    twofactor.ENROL: ("accounts:two_factor_enrol", "accounts:two_factor_codes"),
}


class StaffTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._paths: dict[str, frozenset[str]] | None = None

    def _open_paths(self, step: str) -> frozenset[str]:
        if self._paths is None:  # reversed once, on the first request (the URLconf is loaded)
            self._paths = {
                s: frozenset(reverse(name) for name in (*names, *_OPEN_TO_PENDING))
                for s, names in _STEP_PAGES.items()
            }
        return self._paths[step]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return self.get_response(request)
        step = twofactor.pending_step(request) if hasattr(request, "user") else ""
        if step and request.path not in self._open_paths(step):
            target = reverse(_STEP_PAGES[step][0])
            if request.method == "GET":
                target = f"{target}?{urlencode({'next': request.get_full_path()})}"
            return HttpResponseRedirect(target)
        return self.get_response(request)

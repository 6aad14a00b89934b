"""Asking before an irreversible or mass action, through the one confirmation component
(includes/confirm.html): the view shows the question until the form's confirm=1 comes back."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from essaim.lib.numbers import ascii_int

# More digits than any audience can have: a longer value is not a count someone was shown.
MAX_COUNT_DIGITS = 18


def confirmed(request: HttpRequest) -> bool:
    """True for the confirmation's own POST only: a bare POST (the form of a page without
    script, a replayed request) is asked again, never acted on."""
    return request.method == "POST" and request.POST.get("confirm") == "1"


def confirmed_count(request: HttpRequest) -> int | None:
    """For a question that says how many people an action reaches: the count the confirmation
    carries back (its confirm=N), which the view compares with the count now before acting.
    None for any other request, or a value that is not a count."""
    value = request.POST.get("confirm", "") if request.method == "POST" else ""
    return ascii_int(value, max_digits=MAX_COUNT_DIGITS)


def ask(
    request: HttpRequest,
    *,
    dialog_id: str,
    title: str,
    confirm_label: str,
    action: str,
    cancel_url: str,
    text: str = "",
    tone: str = "",
    eyebrow: str,
    heading: str,
    **extra: Any,
) -> HttpResponse:
    """The question: the form alone when htmx fetches it into the page's (lazy) dialog, else a
    page of its own framing it in a card (the way without script), under `eyebrow` (what is
    being done) and `heading` (to what)."""
    context = {
        "id": dialog_id,
        "title": title,
        "text": text,
        "confirm_label": confirm_label,
        "action": action,
        "cancel_url": cancel_url,
        "tone": tone,
        **extra,
    }
    if getattr(request, "htmx", False):
        return render(request, "includes/confirm.html", context)
    return render(request, "confirm_page.html", {**context, "eyebrow": eyebrow, "heading": heading})

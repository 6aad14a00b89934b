from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from essaim.devmail import rules
from essaim.devmail.models import CaughtMessage
from essaim.lib.frames import sandboxed_document
from essaim.lib.pagination import keyset_page


def _guard(request: HttpRequest) -> None:
    # A 404 whether the catcher is off (outside the demo) or the reader is not HQ.
    if not rules.can_read_devmail(request.user):
        raise Http404


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    _guard(request)
    page = keyset_page(CaughtMessage.objects.defer("raw"), request, size=50)
    return render(request, "devmail/inbox.html", {"page": page})


@login_required
def message(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    caught = get_object_or_404(CaughtMessage, pk=pk)
    parsed = caught.parsed()
    return render(
        request,
        "devmail/message.html",
        {
            "caught": caught,
            "headers": list(parsed.items()),
            "to": str(parsed.get("To", "")) or ", ".join(caught.rcpt_to),
            "date": str(parsed.get("Date", "")),
            "body": caught.text_body(),
            "has_html": caught.html_body() is not None,
        },
    )


# The HTML part, as the recipient's mail client would show it: a hostile document in a frame.
@sandboxed_document
@login_required
def message_html(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    html = get_object_or_404(CaughtMessage, pk=pk).html_body()
    if html is None:
        raise Http404
    return HttpResponse(html)

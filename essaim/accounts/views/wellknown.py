"""Paths that clients ask for by convention rather than by following a link.

/.well-known/security.txt (RFC 9116): where to report a vulnerability in this deployment. The
contact is the deployer's (SECURITY_CONTACT), not the project's: whoever runs Essaim for a
campaign answers for its data. Without a contact the file does not exist (404) rather than
pointing researchers nowhere.

/favicon.ico: browsers ask for it on their own, whatever the page links; it redirects to the
SVG icon that base.html links, so it is not a 404 in the logs on every first visit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

# RFC 9116 §2.5.5: Expires should be less than a year away. Half a year, at midnight UTC, so the
# file stays the same all day (caches and diffing scanners see one version a day).
EXPIRES_AFTER = timedelta(days=180)


def _uri(value: str) -> str:
    """A contact URI: a bare address becomes mailto:; line breaks cannot add fields."""
    value = "".join(value.split())
    if ":" not in value and "@" in value:
        return f"mailto:{value}"
    return value


def security_txt_lines(*, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    expires = midnight + EXPIRES_AFTER
    lines = [f"Contact: {_uri(contact)}" for contact in settings.SECURITY_CONTACT]
    lines.append(f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    if settings.SECURITY_POLICY_URL:
        lines.append(f"Policy: {_uri(settings.SECURITY_POLICY_URL)}")
    lines.append(f"Canonical: {settings.SITE_URL}{reverse('security_txt')}")
    lines.append("Preferred-Languages: fr, en")
    return lines


@require_GET
def security_txt(request: HttpRequest) -> HttpResponse:
    if not settings.SECURITY_CONTACT:
        raise Http404
    body = "\n".join(security_txt_lines()) + "\n"
    return HttpResponse(body, content_type="text/plain; charset=utf-8")


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    # Temporary (302), not permanent: a browser would keep a 301 for good, and the static
    # file's URL is the storage's to choose (a hashed name changes with the file).
    return HttpResponseRedirect(static("favicon.svg"))

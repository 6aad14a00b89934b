"""A page whose document is hostile: a mail's HTML, later a fetched web page.

Served on its own URL and shown in an `<iframe sandbox>` on the page around it, the document may
run nothing, load nothing but images, post no form, and is a unique origin (the CSP `sandbox`
directive holds even if the page is opened outside its frame).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override

SANDBOXED_DOCUMENT_CSP: dict[str, Any] = {
    "sandbox": True,  # a bare directive: no token allowed
    "default-src": ["'none'"],
    "img-src": ["https:", "data:"],
    "style-src": ["'unsafe-inline'"],
    "frame-ancestors": ["'self'"],
}


def sandboxed_document[V: Callable[..., Any]](view: V) -> V:
    """Serve the view's response as a sandboxed document that only this site may frame."""
    return csp_override(SANDBOXED_DOCUMENT_CSP)(xframe_options_sameorigin(view))  # type: ignore[no-any-return]

"""Logging filters for Django's request logger that are not about secrets (see redaction.py)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 from PermissionDenied stays a one-line warning ("Forbidden (Permission denied):
    /path"): Django logs it with the exception's traceback, which says nothing a refusal by
    design needs and buries the real errors of the log under screenfuls of routine refusals."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True

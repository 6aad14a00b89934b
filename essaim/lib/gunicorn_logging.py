"""gunicorn's access log without the tokens of links: `--logger-class
essaim.lib.gunicorn_logging.RedactingLogger` (the Procfile's web process).

Every value an access-log format may print (the request line, the path, the query string, the
Referer — a page opened from a confirmation link names it there — and any header or environ
variable) goes through essaim.lib.redaction.redact when the line is formatted, so only the
values the format uses cost anything.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger, SafeAtoms

from essaim.lib.redaction import redact


class RedactedAtoms(SafeAtoms):
    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return redact(value) if isinstance(value, str) else value


class RedactingLogger(Logger):
    atoms_wrapper_class = RedactedAtoms

"""gunicorn's access log without the tokens of links: `--logger-class
essaim.lib.gunicorn_logging.RedactingLogger` (the Procfile's web process).

Every value an access-log format may print (the request line, the path, the query string, the
Referer — a page opened from a confirmation link names it there — and any header or environ
variable) goes through essaim.lib.redaction.redact when the line is formatted, so only the
values the format uses cost anything. The error log gets the same filter as Django's loggers:
a request that fails outside Django is logged there with its URI ("Error handling request").
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger, SafeAtoms

from essaim.lib.redaction import RedactSecretsFilter, redact


class RedactedAtoms(SafeAtoms):
    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return redact(value) if isinstance(value, str) else value


class RedactingLogger(Logger):
    atoms_wrapper_class = RedactedAtoms

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        if not any(isinstance(f, RedactSecretsFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactSecretsFilter())

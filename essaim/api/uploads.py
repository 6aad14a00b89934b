"""Files sent to the API: base64 inside a JSON body, with the size the schema states being the
size the server applies.

Django refuses a request body above DATA_UPLOAD_MAX_MEMORY_SIZE (a 413) before any handler runs,
so a file's base64 must leave room in that body for the rest of the payload: BODY_RESERVE covers
the other fields of an upload at their schema maxima, even with every character JSON-escaped.
The API's limit for a kind of file is the smaller of its service's own limit (the web forms'
too) and what fits; the field's maxLength and `x-max-bytes` in the OpenAPI schema come from it,
and a decoded file above it is refused with a 422 naming the field.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from pydantic import Field

from essaim.api.errors import field_error

# The rest of an upload's body: ProofIn's 10 URLs of 2,000 characters and its 4,000-character
# note, written as 12-byte JSON escapes (a surrogate pair per character), take 288,000 bytes.
BODY_RESERVE = 512 * 1024


def max_file_bytes(service_limit: int) -> int:
    """The largest file the API takes where its service takes `service_limit` bytes."""
    body_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if body_limit is None:
        return service_limit
    return max(0, min(service_limit, (body_limit - BODY_RESERVE) // 4 * 3))


def base64_length(size: int) -> int:
    """Characters of the padded base64 of `size` bytes."""
    return 4 * ((size + 2) // 3)


def base64_file_field(service_limit: int, *, description: str, default: Any = ...) -> Any:
    """A schema field for a base64 file, stating the API's limit for it (evaluated when the
    schema class is defined, from the settings of that moment)."""
    limit = max_file_bytes(service_limit)
    return Field(
        default,
        max_length=base64_length(limit),
        description=f"{description} At most {limit} bytes once decoded.",
        json_schema_extra={"x-max-bytes": limit},
    )


def decode_file(field: str, value: str, *, service_limit: int) -> bytes:
    """The decoded file, or a 422 naming `field` (not base64, or above the API's limit)."""
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise field_error(field, "Not valid base64.") from None
    limit = max_file_bytes(service_limit)
    if len(data) > limit:
        raise field_error(field, f"File too large: at most {limit} bytes.")
    return data

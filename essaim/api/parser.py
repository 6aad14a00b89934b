"""The API's request parser: ninja's JSON and query parsing, refusing text with a NUL character.

PostgreSQL cannot store U+0000 in a text column, and no field of ours needs it: a string holding
one would reach the database and fail there, a 500. It is refused here, once for every operation
and after authentication (ninja parses only then), with a 422 that names the field.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from essaim.api.errors import NUL_MESSAGE, ApiError, NulCharacter


def _nul_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (value or key) holding a NUL, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _nul_field(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_field(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class StrictParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        field = _nul_field(data)
        if field is not None:
            # ninja turns whatever parse_body raises into a 400; errors.install answers this one
            # as the 422 it is (see on_http_error).
            raise NulCharacter(field)
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
                raise ApiError(422, details=[{"in": "query", "field": key, "message": NUL_MESSAGE}])
        return super().parse_querydict(data, list_fields, request)

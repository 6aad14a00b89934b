"""The JSON API root: one NinjaAPI, the domain apps' routers mounted by dotted path from
settings.API_ROUTERS, OpenAPI at /api/docs."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from essaim.api import errors
from essaim.api.docs import LocalSwagger
from essaim.api.parser import StrictParser


class EssaimAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # `list_contacts` rather than ninja's `essaim_api_people_list_contacts`: these names
        # become method names in generated clients. Handler names are unique across routers.
        return operation.view_func.__name__

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        errors.document_generic_errors(schema)
        return schema


api = EssaimAPI(
    title="Essaim API",
    version="1",
    description=(
        "Token-authenticated JSON API (`Authorization: Bearer ess_…`). A token acts as its "
        "user: HQ may read and write the base; a coordinator reads the contacts of their zones, "
        "masked; a volunteer reads and edits their own profile (`/v1/me`) and teams, and a "
        "team's coordinators read its members and decide its join requests. Reading contacts "
        "(list, search, get, GDPR report) needs the token scope `contacts:read`, is written to "
        "the audit log and counts against the token's daily budget of people read (429 "
        "`people_budget_exhausted` beyond, until midnight). Every error has the shape "
        '`{"error": {"code": "…", "message": "…", "details": …}}`.'
    ),
    urls_namespace="api",
    docs=LocalSwagger(),
    parser=StrictParser(),
)
errors.install(api)
# Each domain app owns its router (essaim/people/api.py, …); the root imports none of them
# and mounts what settings list, in that order, which is the order of the schema's paths.
for prefix, dotted_path in settings.API_ROUTERS:
    api.add_router(prefix, import_string(dotted_path))


@api.get("/health", auth=None, tags=["meta"])
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}

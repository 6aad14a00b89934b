"""The JSON API root: one NinjaAPI, routers mounted per domain app, OpenAPI at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(title="Essaim API", version="1", urls_namespace="api")


@api.get("/health", auth=None, tags=["meta"])
def health(request) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"status": "ok"}

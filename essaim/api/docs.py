"""The API docs page, served from our own static files.

ninja's default page loads swagger-ui from a CDN and starts it with an inline script: both are
refused by our Content-Security-Policy (`script-src 'self'`) and a CDN is one more third party
seeing who reads our docs. This page uses the swagger-ui-dist npm package (STATICFILES_DIRS
"vendor/swagger-ui") and a static init script that reads its settings from a JSON data block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import DocsBase

if TYPE_CHECKING:
    from ninja import NinjaAPI


class LocalSwagger(DocsBase):
    template = "api/docs.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        config = {
            "url": self.get_openapi_url(api, kwargs),
            "dom_id": "#swagger-ui",
            "layout": "BaseLayout",
            "deepLinking": True,
            "persistAuthorization": False,
            "validatorUrl": None,  # the default would call validator.swagger.io
        }
        return render(request, self.template, {"api": api, "config": config})

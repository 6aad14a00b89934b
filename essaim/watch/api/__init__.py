"""The watch's JSON API: one router gathering the rooms' routers (sources and items, stories,
watchlists, submissions, syntheses, alerts), mounted by essaim.api.root from
settings.API_ROUTERS. The order is the order of the OpenAPI schema's paths, kept as it was when
they were one module."""

from ninja import Router

from essaim.watch.api import alerts, sources, stories, submissions, syntheses, watchlists

router = Router()
router.add_router("", sources.router)
router.add_router("", stories.router)
router.add_router("", watchlists.router)
router.add_router("", submissions.router)
router.add_router("", syntheses.router)
router.add_router("", alerts.router)

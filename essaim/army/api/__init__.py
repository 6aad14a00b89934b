"""The army's JSON API: one router gathering the volunteers', missions', library's, calls' and
invitations' routers, mounted by essaim.api.root from settings.API_ROUTERS. The order is the
order of the OpenAPI schema's paths, kept as it was when these lived in essaim/api."""

from ninja import Router

from essaim.army.api import calls, invitations, library, missions, volunteers

router = Router()
router.add_router("", volunteers.router)
router.add_router("", missions.router)
router.add_router("", calls.router)
router.add_router("", invitations.router)
router.add_router("", library.router)

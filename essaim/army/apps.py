from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArmyConfig(AppConfig):
    name = "essaim.army"
    verbose_name = _("L'armée")

    def ready(self) -> None:
        from essaim.army.services.call_links import link_factory
        from essaim.mailing import links

        # The mail of a call for volunteers links each recipient to the call's landing page.
        links.register("call_url", link_factory)

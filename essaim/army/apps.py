from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArmyConfig(AppConfig):
    name = "essaim.army"
    verbose_name = _("L'armée")

    def ready(self) -> None:
        from essaim.army.services import gdpr
        from essaim.army.services.call_links import link_factory
        from essaim.army.services.demo import seed_demo_army
        from essaim.mailing import links
        from essaim.people.services.demo import register_step
        from essaim.people.services.gdpr_sections import register_section

        # The mail of a call for volunteers links each recipient to the call's landing page.
        links.register("call_url", link_factory)
        # A person's access report shows their volunteering. No erase step: the army's rows
        # let go of the contact through their foreign keys when it is deleted.
        register_section("army", order=20, report=gdpr.report_section)
        # `essaim demo` gives the printed demo accounts a team, roles and missions.
        register_step("army", seed_demo_army, order=20)

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailingConfig(AppConfig):
    name = "essaim.mailing"
    verbose_name = _("Remobilisation")

    def ready(self) -> None:
        from essaim.accounts.services.dashboard import register_panel
        from essaim.accounts.services.navigation import CAMPAIGNS, register_menu
        from essaim.mailing import dashboard
        from essaim.mailing.services import gdpr
        from essaim.mailing.services.demo import seed_demo_mailing
        from essaim.people.services.demo import register_step
        from essaim.people.services.gdpr_sections import register_section

        # A person's access report lists the ledger's rows about them; erasure blanks them.
        register_section(
            "mailing", order=10, report=gdpr.access_section, erase=gdpr.blank_ledger_copies
        )
        # `essaim demo` adds campaigns sent over the last weeks, with their results.
        register_step("mailing", seed_demo_mailing, order=15)

        register_menu("mailing", CAMPAIGNS, menu)
        # The home page: campaigns in progress and the last results, for HQ.
        register_panel("campaigns", "mailing/dashboard/campaigns.html", dashboard.panel, order=20)


def menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.mailing import rules

    if not rules.can_manage_campaigns(user):
        return []
    return [(gettext("Campagnes"), reverse("mailing:campaign_list"))]

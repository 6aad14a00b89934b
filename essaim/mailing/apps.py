from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailingConfig(AppConfig):
    name = "essaim.mailing"
    verbose_name = _("Remobilisation")

    def ready(self) -> None:
        from essaim.accounts.services.dashboard import register_panel
        from essaim.accounts.services.navigation import CAMPAIGNS, register_menu
        from essaim.mailing import dashboard, labels
        from essaim.mailing.services import gdpr
        from essaim.mailing.services.demo import seed_demo_mailing
        from essaim.mailing.services.notifications import register_kinds
        from essaim.people.services.demo import register_step
        from essaim.people.services.gdpr_sections import register_section

        # A person's access report lists the ledger's rows about them; erasure blanks them.
        register_section(
            "mailing",
            order=10,
            report=gdpr.access_section,
            erase=gdpr.blank_ledger_copies,
            erase_many=gdpr.blank_ledger_copies_of,
        )
        # `essaim demo` adds campaigns sent over the last weeks, with their results.
        register_step("mailing", seed_demo_mailing, order=15)

        register_menu("mailing", CAMPAIGNS, menu)
        # A campaign waiting for approval is a notification to HQ (read, and where it leads).
        register_kinds()
        # The words of the campaigns' codes: audit sentences, bounce events, their details.
        labels.register()
        # The home page: campaigns in progress and the last results, for HQ.
        register_panel("campaigns", "mailing/dashboard/campaigns.html", dashboard.panel, order=20)


def menu(user: Any) -> list[tuple[str, str, Any]]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.accounts.services.notifications import unread_count
    from essaim.mailing import rules
    from essaim.mailing.services.notifications import CAMPAIGN_KINDS

    if not rules.can_manage_campaigns(user):
        return []
    # Counted: campaigns waiting for this person's approval.
    return [
        (
            gettext("Campagnes"),
            reverse("mailing:campaign_list"),
            lambda: unread_count(user, CAMPAIGN_KINDS),
        ),
        (gettext("Modèles de message"), reverse("mailing:template_list"), None),
    ]

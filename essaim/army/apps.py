from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArmyConfig(AppConfig):
    name = "essaim.army"
    verbose_name = _("L'armée")

    def ready(self) -> None:
        from essaim.accounts.services.dashboard import register_panel
        from essaim.accounts.services.navigation import ACCOUNT, ARMY, register_menu
        from essaim.army import dashboard, labels
        from essaim.army.services import gdpr
        from essaim.army.services.call_links import link_factory
        from essaim.army.services.demo import seed_demo_army
        from essaim.army.services.notifications import register_kinds
        from essaim.mailing import links
        from essaim.people.services.demo import register_step
        from essaim.people.services.gdpr_sections import register_section

        # The mail of a call for volunteers links each recipient to the call's landing page.
        links.register("call_url", link_factory)
        # A person's access report shows their volunteering. No erase step: the army's rows
        # let go of the contact through their foreign keys when it is deleted.
        register_section("army", order=20, report=gdpr.report_section)
        # Notifications are the accounts'; the army links an account to a contact, so it
        # registers their section: reported, and erased with the person.
        register_section(
            "notifications",
            order=25,
            report=gdpr.notifications_section,
            erase=gdpr.erase_notifications,
        )
        # The kinds of notifications the army produces: how they read, where they lead.
        register_kinds()
        # `essaim demo` gives the printed demo accounts a team, roles and missions.
        register_step("army", seed_demo_army, order=20)

        register_menu("army", ARMY, menu)
        register_menu("army", ACCOUNT, account_menu, order=10)
        # The words of the army's codes: audit sentences, invitation events, their details.
        labels.register()
        # The home page: a volunteer's missions, points and teams first, then a coordinator's
        # teams, then (after the base and the campaigns) the army and the calls.
        register_panel(
            "volunteer", "army/dashboard/volunteer.html", dashboard.volunteer_panel, order=1
        )
        register_panel("team", "army/dashboard/team.html", dashboard.team_panel, order=5)
        register_panel("army", "army/dashboard/army.html", dashboard.army_panel, order=30)
        register_panel("calls", "army/dashboard/calls.html", dashboard.calls_panel, order=40)


def menu(user: Any) -> list[tuple[str, str] | tuple[str, str, Any] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.accounts import rules
    from essaim.accounts.services.notifications import unread_count
    from essaim.army.rules import coordinated_team_ids
    from essaim.army.services.notifications import RUNNER_KINDS, TEAM_KINDS, VOLUNTEER_KINDS
    from essaim.mailing.rules import can_manage_campaigns

    # Missions: by account role (the pages check again), and for a volunteer account at the
    # head of a team, which runs its missions too (a query for volunteer accounts only). The
    # counts are unread notifications of each entry's kinds (one query for the whole menu).
    volunteer, hq = user.is_volunteer, rules.is_hq(user)
    runs_missions = hq or user.is_coordinator or (volunteer and bool(coordinated_team_ids(user)))
    return [
        (gettext("Équipes"), reverse("army:team_list"), lambda: unread_count(user, TEAM_KINDS)),
        (
            gettext("Mes missions"),
            reverse("army:my_missions"),
            lambda: unread_count(user, VOLUNTEER_KINDS),
        )
        if volunteer
        else None,
        (gettext("Mes invitations"), reverse("army:invitations")) if volunteer else None,
        (
            gettext("Missions"),
            reverse("army:missions_run"),
            lambda: unread_count(user, RUNNER_KINDS),
        )
        if runs_missions
        else None,
        (gettext("Appels"), reverse("army:call_list")) if can_manage_campaigns(user) else None,
        (gettext("Invitations signalées"), reverse("army:invitation_reports")) if hq else None,
    ]


def account_menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    return [(gettext("Mon espace"), reverse("army:profile")) if user.is_volunteer else None]

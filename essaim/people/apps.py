from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "essaim.people"
    verbose_name = _("La base")

    def ready(self) -> None:
        from essaim.accounts.services.dashboard import register_panel
        from essaim.accounts.services.navigation import BASE, register_menu
        from essaim.people import dashboard, labels

        register_menu("people", BASE, menu)
        # The words of the base's codes: audit sentences, timeline events, their details.
        labels.register()
        # The home page: the base for HQ, the contacts of their zones for a coordinator.
        register_panel("base", "people/dashboard/base.html", dashboard.panel, order=10)


def menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.people import rules

    manage = rules.can_manage_base(user)
    return [
        (gettext("Contacts"), reverse("people:contact_list"))
        if rules.can_view_contacts(user)
        else None,
        (gettext("Segments"), reverse("people:segment_list")) if manage else None,
        (gettext("Étiquettes"), reverse("people:tag_list")) if manage else None,
        (gettext("Imports"), reverse("people:import_list")) if manage else None,
    ]

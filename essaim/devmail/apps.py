from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevmailConfig(AppConfig):
    name = "essaim.devmail"
    verbose_name = _("Boîte de développement")

    def ready(self) -> None:
        from essaim.accounts.services.navigation import ADMINISTRATION, register_menu

        register_menu("devmail", ADMINISTRATION, menu, order=50)


def menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.devmail import rules

    return [
        (gettext("Boîte de dev"), reverse("devmail:inbox"))
        if rules.can_read_devmail(user)
        else None
    ]

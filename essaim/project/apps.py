from typing import Any

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Listed last in INSTALLED_APPS: its ready() runs once every pillar's has."""

    name = "essaim.project"
    label = "essaim_project"
    verbose_name = "Essaim"

    def ready(self) -> None:
        # The periodic jobs call into every pillar, so a pillar cannot register them: this app
        # imports essaim.schedule in every process, so that the worker (`essaim run_huey`)
        # knows them all.
        import essaim.schedule  # noqa: F401
        from essaim.accounts.services.navigation import HOME, register_menu

        register_menu("project", HOME, menu, order=0)


def menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    return [(gettext("Accueil"), reverse("home"))]

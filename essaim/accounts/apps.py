from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "essaim.accounts"
    verbose_name = _("Comptes")

    def ready(self) -> None:
        # The deployment checks (`essaim check --deploy`) register when imported.
        import essaim.accounts.checks

        # Registers the periodic jobs in every process, so the worker knows them.
        import essaim.schedule  # noqa: F401

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "essaim.accounts"
    verbose_name = _("Comptes")

    def ready(self) -> None:
        # The deployment checks (`essaim check --deploy`) register when imported.
        # Library integration points, not domain logic: every login (whatever its path) notes
        # in its session the second factor it owes; the failure that locks a login is audited.
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in

        import essaim.accounts.checks  # noqa: F401
        from essaim.accounts.services.lockouts import record_lockout
        from essaim.accounts.services.twofactor import on_user_logged_in

        user_logged_in.connect(on_user_logged_in, dispatch_uid="essaim.2fa.mark_session")
        user_locked_out.connect(record_lockout, dispatch_uid="essaim.login.locked")

from typing import Any

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
        from django.db.backends.signals import connection_created

        import essaim.accounts.checks  # noqa: F401
        from essaim.accounts import labels
        from essaim.accounts.services.lockouts import record_lockout
        from essaim.accounts.services.navigation import ACCOUNT, ADMINISTRATION, register_menu
        from essaim.accounts.services.twofactor import on_user_logged_in
        from essaim.lib.sorting import register_sqlite_collation

        user_logged_in.connect(on_user_logged_in, dispatch_uid="essaim.2fa.mark_session")
        user_locked_out.connect(record_lockout, dispatch_uid="essaim.login.locked")
        # Sorted tables compare text in French order on SQLite too (essaim.lib.sorting).
        connection_created.connect(register_sqlite_collation, dispatch_uid="essaim.collation")
        # The audit log's sentences of the accounts' own actions; other apps add theirs.
        labels.register()

        register_menu("accounts-audit", ADMINISTRATION, audit_menu, order=10)
        register_menu("accounts", ADMINISTRATION, administration_menu, order=30)
        register_menu("accounts", ACCOUNT, account_menu, order=20)
        register_menu("accounts-notifications", ACCOUNT, notifications_menu, order=5)


def audit_menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.accounts import rules

    return [
        (gettext("Journal d'audit"), reverse("accounts:audit_log")) if rules.is_hq(user) else None
    ]


def administration_menu(user: Any) -> list[tuple[str, str] | None]:
    # The API's token pages (20) and the dev mailbox (50) come from their own apps.
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.accounts import rules

    return [
        (gettext("Sécurité"), reverse("accounts:security")) if rules.is_hq_admin(user) else None,
        (gettext("Guide de style"), reverse("accounts:style_guide")) if rules.is_hq(user) else None,
    ]


def notifications_menu(user: Any) -> list[tuple[str, str, Any]]:
    # Everyone signed in has notifications; the count is every unread one (the bell's).
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.accounts.services.notifications import unread_count

    return [
        (gettext("Notifications"), reverse("accounts:notifications"), lambda: unread_count(user))
    ]


def account_menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    return [
        (gettext("Double authentification"), reverse("accounts:two_factor_settings"))
        if not user.is_volunteer
        else None
    ]

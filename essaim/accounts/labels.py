"""The words of the accounts' own codes: the sentences of their audit entries (logins, locks,
from AccountsConfig.ready like every app's (see essaim.accounts.services.audit_log)."""

from __future__ import annotations

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from essaim.accounts.models import User
from essaim.accounts.services.audit_log import (
    Entry,
    ObjectKind,
    load_by_pk,
    register_action,
    register_family,
    register_object,
)
from essaim.accounts.services.vocabulary import number, register_details


def person_name(user: User) -> str:
    return user.full_name or user.email


def register() -> None:
    register_family("security", _("Connexions et sécurité"), ("2fa.", "login."), order=80)
    register_object(
        "accounts.user", ObjectKind(load=load_by_pk(User), name=person_name, quoted=False)
    )
    register_action(
        "2fa.enrol",
        lambda e: e.say(gettext("%(actor)s a activé la double authentification")),
    )
    register_action("2fa.failed", _two_factor_failed)
    register_action(
        "2fa.recovery_regenerated",
        lambda e: e.say(gettext("%(actor)s a généré de nouveaux codes de secours")),
    )
    register_action("2fa.recovery_used", _recovery_used)
    register_action("2fa.reset", _two_factor_reset)
    register_action("login.locked", _login_locked)
    register_action("login.unlock", _login_unlock)
    register_details(
        {
            "via": (_("par"), _via),
            "stage": _("étape"),
            "kind": _("type"),
            "throttled": _("freiné"),
            "left": _("codes restants"),
            "by_admin": _("par un administrateur"),
            "username": _("compte"),
            "failures": _("échecs"),
            "value": _("valeur"),
            "removed": _("tentatives effacées"),
            "token": _("jeton d'API"),
        }
    )


def _via(value: object) -> str:
    labels = {
        "web": gettext("le site"),
        "api": gettext("l'API"),
        "command": gettext("la ligne de commande"),
    }
    return labels.get(str(value), str(value))


def _two_factor_failed(entry: Entry) -> str:
    if entry.detail("stage") == "enrol":
        return entry.say(
            gettext("%(actor)s a saisi un code erroné en activant la double authentification")
        )
    if entry.detail("kind") == "recovery":
        template = gettext("%(actor)s a saisi un code de secours erroné à la connexion")
    else:
        template = gettext("%(actor)s a saisi un code de double authentification erroné")
    sentence = entry.say(template)
    if entry.detail("throttled"):
        return entry.say(gettext("%(sentence)s (essais freinés)"), sentence=sentence)
    return sentence


def _recovery_used(entry: Entry) -> str:
    left = int(entry.detail("left", 0) or 0)
    return entry.say(
        ngettext(
            "%(actor)s a utilisé un code de secours pour se connecter (il en reste %(left)s)",
            "%(actor)s a utilisé un code de secours pour se connecter (il en reste %(left)s)",
            left,
        ),
        left=number(left),
    )


def _two_factor_reset(entry: Entry) -> str:
    if entry.detail("by_admin"):
        return entry.say(
            gettext("%(actor)s a réinitialisé la double authentification de %(object)s"),
            object=entry.object,
        )
    return entry.say(gettext("%(actor)s a retiré sa double authentification"))


def _login_locked(entry: Entry) -> str:
    failures = int(entry.detail("failures", 0) or 0)
    return entry.say(
        ngettext(
            "Connexion bloquée pour « %(username)s » après %(failures)s échec",
            "Connexion bloquée pour « %(username)s » après %(failures)s échecs",
            failures,
        ),
        username=entry.detail("username") or gettext("(sans nom)"),
        failures=number(failures),
    )


def _login_unlock(entry: Entry) -> str:
    removed = int(entry.detail("removed", 0) or 0)
    if entry.detail("kind") == "ip":
        template = ngettext(
            "%(actor)s a débloqué l'adresse IP %(value)s (%(removed)s tentative effacée)",
            "%(actor)s a débloqué l'adresse IP %(value)s (%(removed)s tentatives effacées)",
            removed,
        )
    else:
        template = ngettext(
            "%(actor)s a débloqué le compte « %(value)s » (%(removed)s tentative effacée)",
            "%(actor)s a débloqué le compte « %(value)s » (%(removed)s tentatives effacées)",
            removed,
        )
    return entry.say(template, value=entry.detail("value"), removed=number(removed))

"""The words of the API tokens' codes: the sentences of their audit entries, the token as an
object the log links to, and the keys of their details. Registered from ApiConfig.ready."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from essaim.accounts import rules
from essaim.accounts.services.audit_log import (
    Entry,
    ObjectKind,
    load_by_pk,
    register_action,
    register_family,
    register_object,
)
from essaim.accounts.services.vocabulary import (
    choices,
    field_names,
    number,
    plain,
    register_details,
)
from essaim.api.models import ApiToken, Scope


def register() -> None:
    register_family("api", _("API"), ("api_token.",), order=70)
    register_object(
        "api.apitoken",
        ObjectKind(
            load=load_by_pk(ApiToken),
            name=lambda t: f"{t.name} ({t.prefix})" if t.name else t.prefix,
            url=lambda t, reader: (
                reverse("api_tokens:edit", args=[t.pk])
                if rules.can_manage_api_tokens(reader) and t.revoked_at is None
                else None
            ),
        ),
    )
    register_action("api_token.create", _create)
    register_action(
        "api_token.update",
        lambda e: e.say(
            gettext("%(actor)s a modifié le jeton d'API %(object)s (%(fields)s)"),
            object=e.object,
            fields=field_names(e.detail("after") or []),
        ),
    )
    register_action(
        "api_token.revoke",
        lambda e: e.say(
            gettext("%(actor)s a révoqué le jeton d'API %(object)s de %(user)s"),
            object=e.object,
            user=e.detail("user"),
        ),
    )
    register_action(
        "api_token.refused_address",
        lambda e: e.say(
            gettext(
                "Jeton d'API %(object)s refusé : la demande venait d'une adresse hors des "
                "réseaux autorisés (%(networks)s)"
            ),
            object=e.object,
            networks=plain(e.detail("networks") or []),
        ),
    )
    register_action("api_token.budget_exhausted", _budget_exhausted)
    register_details(
        {
            "prefix": _("préfixe"),
            "user": _("compte"),
            "scopes": (_("droits"), choices(dict(Scope.choices))),
            "networks": _("réseaux autorisés"),
            "rate_per_minute": _("requêtes par minute"),
            "daily_people_budget": _("personnes lisibles par jour"),
            "budget": _("personnes lisibles par jour"),
            "read": _("personnes lues"),
            # A token's change lists the fields changed; a read's query, the cursor it went on
            # from (a number, which reads as itself).
            "after": (_("après"), field_names),
        }
    )


def _create(entry: Entry) -> str:
    scopes = choices(dict(Scope.choices))(entry.detail("scopes") or [])
    return entry.say(
        gettext("%(actor)s a créé le jeton d'API %(object)s pour %(user)s (droits : %(scopes)s)"),
        object=entry.object,
        user=entry.detail("user"),
        scopes=scopes or "—",
    )


def _budget_exhausted(entry: Entry) -> str:
    budget = int(entry.detail("budget", 0) or 0)
    return entry.say(
        ngettext(
            "Le jeton d'API %(object)s a atteint sa limite du jour (%(budget)s personne lue)",
            "Le jeton d'API %(object)s a atteint sa limite du jour (%(budget)s personnes lues)",
            budget,
        ),
        object=entry.object,
        budget=number(budget),
    )

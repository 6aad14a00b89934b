"""The words of the campaigns' codes: the sentences of their audit entries, the campaign as an
object the log links to, the keys of their details, and the timeline events that bounces and
complaints write on a contact. Registered from MailingConfig.ready."""

from __future__ import annotations

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

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
    date_time,
    number,
    numbered,
    parse_moment,
    plain,
    register_details,
)
from essaim.mailing import rules
from essaim.mailing.models import Campaign
from essaim.people.services.timeline import register_event

# A delivery report's action (RFC 3464), or a complaint's feedback type (RFC 5965).
REPORT_ACTIONS = {
    "failed": _("échec de remise"),
    "delayed": _("remise retardée"),
    "delivered": _("remis"),
    "relayed": _("relayé"),
    "expanded": _("redistribué"),
    "abuse": _("plainte pour abus"),
}
# In a report, "status" is the server's code (RFC 3463), not a consent's state.
REPORT_DETAILS = {"status": _("code du serveur")}


def register() -> None:
    register_family("campaigns", _("Campagnes"), ("campaign.",), order=20)
    register_object(
        "mailing.campaign",
        ObjectKind(
            load=load_by_pk(Campaign),
            name=lambda c: c.name,
            url=lambda c, reader: (
                reverse("mailing:campaign_detail", args=[c.pk])
                if rules.can_manage_campaigns(reader)
                else None
            ),
        ),
    )
    register_action("campaign.approve", _approve)
    register_action("campaign.launch", _launch)
    register_action(
        "campaign.pause",
        lambda e: e.say(
            gettext("%(actor)s a mis en pause la campagne %(object)s"), object=e.object
        ),
    )
    register_action(
        "campaign.resume",
        lambda e: e.say(
            gettext("%(actor)s a repris l'envoi de la campagne %(object)s"), object=e.object
        ),
    )
    register_action("campaign.cancel", _cancel)
    register_action("campaign.test_send", _test_send)
    register_action("campaign.requeue_unknown", _requeue)
    register_details(
        {
            "campaign": (_("campagne"), numbered),
            "delivery": (_("envoi"), numbered),
            "report": (_("rapport"), numbered),
            "reply": _("réponse du serveur"),
            "diagnostic": _("diagnostic"),
            "action": (_("action signalée"), choices(REPORT_ACTIONS)),
            "soft_bounces": _("erreurs temporaires"),
            "audience": _("destinataires"),
            "approved_by": _("approuvée par"),
            "scheduled_at": (_("programmée le"), date_time),
            "estimate": _("estimation"),
            "cancelled_rows": _("envois annulés"),
            "addresses": _("adresses"),
            "requeued": _("remis en file"),
            "selection": (
                _("sélection"),
                choices({"all": _("tous les envois"), "chosen": _("envois choisis")}),
            ),
        }
    )
    for kind, label in {
        "hard_bounce": _("Adresse invalide (erreur définitive)"),
        "soft_bounce": _("Erreur temporaire de remise"),
        "complaint": _("Plainte pour courrier indésirable"),
        "bounce_ignored": _("Réponse automatique reçue (sans effet)"),
        "bounce_unparsed": _("Rapport de remise illisible (conservé)"),
    }.items():
        register_event(kind, label, details=REPORT_DETAILS)


def _approve(entry: Entry) -> str:
    estimate = entry.detail("estimate")
    if not isinstance(estimate, int):
        return entry.say(
            gettext("%(actor)s a approuvé la campagne %(object)s"), object=entry.object
        )
    template = ngettext(
        "%(actor)s a approuvé la campagne %(object)s (environ %(count)s destinataire)",
        "%(actor)s a approuvé la campagne %(object)s (environ %(count)s destinataires)",
        estimate,
    )
    return entry.say(template, object=entry.object, count=number(estimate))


def _launch(entry: Entry) -> str:
    audience = int(entry.detail("audience", 0) or 0)
    sentence = entry.say(
        ngettext(
            "%(actor)s a lancé la campagne %(object)s vers %(count)s personne",
            "%(actor)s a lancé la campagne %(object)s vers %(count)s personnes",
            audience,
        ),
        object=entry.object,
        count=number(audience),
    )
    moment = parse_moment(entry.detail("scheduled_at"))
    if moment is not None:
        local = timezone.localtime(moment)
        sentence = entry.say(
            gettext("%(sentence)s (programmée le %(date)s à %(time)s)"),
            sentence=sentence,
            date=formats.date_format(local, "SHORT_DATE_FORMAT"),
            time=formats.time_format(local, "TIME_FORMAT"),
        )
    if entry.detail("approved_by"):
        sentence = entry.say(
            gettext("%(sentence)s, approuvée par %(approver)s"),
            sentence=sentence,
            approver=entry.detail("approved_by"),
        )
    return sentence


def _cancel(entry: Entry) -> str:
    rows = int(entry.detail("cancelled_rows", 0) or 0)
    return entry.say(
        ngettext(
            "%(actor)s a annulé la campagne %(object)s (%(count)s envoi annulé)",
            "%(actor)s a annulé la campagne %(object)s (%(count)s envois annulés)",
            rows,
        ),
        object=entry.object,
        count=number(rows),
    )


def _test_send(entry: Entry) -> str:
    addresses = entry.detail("addresses") or []
    return entry.say(
        gettext("%(actor)s a envoyé un essai de la campagne %(object)s à %(addresses)s"),
        object=entry.object,
        addresses=plain(addresses),
    )


def _requeue(entry: Entry) -> str:
    count = int(entry.detail("requeued", 0) or 0)
    return entry.say(
        ngettext(
            "%(actor)s a remis en file %(count)s envoi à l'issue inconnue de la campagne "
            "%(object)s",
            "%(actor)s a remis en file %(count)s envois à l'issue inconnue de la campagne "
            "%(object)s",
            count,
        ),
        object=entry.object,
        count=number(count),
    )

"""The words of the base's codes: the sentences of its audit entries (reads, reveals, exports,
erasures, imports, tags), the objects they link to, the keys of their details and of the
contact's timeline, and the timeline's kinds of event. Registered from PeopleConfig.ready."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, ngettext, pgettext
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
    field_names,
    file_size,
    number,
    numbered,
    register_details,
)
from essaim.people import rules
from essaim.people.models import (
    SOURCE_LABELS,
    Consent,
    Contact,
    ImportBatch,
    Purpose,
    Segment,
    Suppression,
    Tag,
)
from essaim.people.services.timeline import register_event
from essaim.people.services.zones import ZonesDataMissing, zones

# Why a consent was withdrawn or an address blocked, as the code writes it.
REASONS = {
    **dict(Suppression.Reason.choices),
    "soft_bounce": _("Erreurs temporaires répétées"),
    "own confirmed sign-up": _("Nouvelle inscription confirmée par la personne"),
}
CHANNELS = {
    "page": _("page de désinscription"),
    "one_click": _("désinscription en un clic (messagerie)"),
    "mailto": _("e-mail de désinscription"),
}
SCOPES = {
    "all": _("tout"),
    "base": _("toute la base"),
    "segment": _("un segment"),
    **dict(Purpose.choices),
}
# The texts of consent that a confirmation records (people.services.signup and army's).
STATEMENTS = {
    "signup-statement-v1": _("texte du formulaire d'inscription, version 1"),
    "volunteer-statement-v1": _("texte de l'engagement de volontaire, version 1"),
}


def source_reference(value: Any, *, source: str = "") -> str:
    """A consent's proof reference: "volunteer:12", "call:3", a statement's version, an
    import's id (when the consent's `source` says so), a campaign's id, an API token's
    prefix."""
    text = str(value)
    if source == Consent.Source.IMPORT and text.isdigit():
        return gettext("import n° %(n)s") % {"n": text}
    kind, _sep, number_ = text.partition(":")
    if number_.isdigit() and kind == "volunteer":
        return gettext("volontaire n° %(n)s") % {"n": number_}
    if number_.isdigit() and kind == "call":
        return gettext("appel n° %(n)s") % {"n": number_}
    if text.isdigit():
        return numbered(text)
    return str(STATEMENTS.get(text, text))


def region_name(value: Any) -> str:
    try:
        return zones().regions.get(str(value), str(value))
    except ZonesDataMissing:
        return str(value)


def contact_name(contact: Contact) -> str:
    return contact.full_name or contact.email


def contact_url(contact: Contact, reader: Any) -> str | None:
    if rules.sees_contacts_unmasked(reader) or (
        rules.can_view_contacts(reader) and contact.departement in (reader.zones or [])
    ):
        return reverse("people:contact_detail", args=[contact.pk])
    return None


def register() -> None:
    _register_details()
    _register_timeline()
    register_family(
        "base",
        _("Base de contacts"),
        ("contacts.", "contact.", "segment.", "tag.", "import."),
        order=10,
    )
    register_object(
        "people.contact",
        ObjectKind(load=load_by_pk(Contact), name=contact_name, url=contact_url, quoted=False),
    )
    register_object(
        "people.segment",
        ObjectKind(
            load=load_by_pk(Segment),
            name=lambda s: s.name,
            url=lambda s, reader: (
                reverse("people:segment_edit", args=[s.pk])
                if rules.can_manage_base(reader)
                else None
            ),
        ),
    )
    register_object(
        "people.importbatch",
        ObjectKind(
            load=load_by_pk(ImportBatch),
            name=lambda b: b.filename,
            url=lambda b, reader: (
                reverse("people:import_detail", args=[b.pk])
                if rules.can_manage_base(reader)
                else None
            ),
        ),
    )
    register_object("people.tag", ObjectKind(load=load_by_pk(Tag), name=lambda t: t.name))
    register_action("contacts.read", _contacts_read, refs={"query.segment": "people.segment"})
    register_action(
        "contact.reveal",
        lambda e: e.say(
            gettext("%(actor)s a révélé l'adresse et le téléphone de %(object)s"),
            object=e.object,
        ),
    )
    register_action(
        "contact.reveal_refused",
        lambda e: e.say(
            gettext(
                "%(actor)s a voulu révéler les coordonnées de %(object)s : refusé, trop de "
                "révélations en peu de temps"
            ),
            object=e.object,
        ),
    )
    register_action("contact.search_refused", _search_refused)
    register_action("contact.access_export", _access_export)
    register_action(
        "contact.erase",
        lambda e: e.say(
            gettext("%(actor)s a effacé le contact %(object)s (droit à l'effacement, RGPD)"),
            object=e.object,
        ),
    )
    register_action(
        "contact.create",
        lambda e: e.say(gettext("%(actor)s a ajouté le contact %(object)s"), object=e.object),
    )
    register_action(
        "contact.update",
        lambda e: e.say(gettext("%(actor)s a modifié le contact %(object)s"), object=e.object),
    )
    register_action(
        "segment.create",
        lambda e: e.say(
            gettext("%(actor)s a créé le segment %(segment)s"),
            segment=e.name_of(
                "people.segment", e.event.object_id, fallback=f"« {e.detail('name')} »"
            ),
        ),
    )
    register_action("contacts.tag", _bulk_tags)
    register_action("contacts.untag", _bulk_tags)
    register_action("contacts.add_to_segment", _bulk_segment)
    register_action("contacts.erase", _bulk_erase)
    register_action("segment.export", _segment_export)
    register_action("tag.delete", _tag_delete)
    register_action(
        "import.upload",
        lambda e: e.say(
            gettext("%(actor)s a téléversé le fichier %(object)s (%(size)s)"),
            object=e.name_of("people.importbatch", e.event.object_id),
            size=file_size(e.detail("size")),
        ),
    )
    register_action(
        "import.start",
        lambda e: e.say(gettext("%(actor)s a lancé l'import %(object)s"), object=e.object),
    )
    register_action("import.report_download", _report_download)
    register_action("import.warnings_download", _report_download)


def _register_details() -> None:
    purposes = choices(dict(Purpose.choices))
    register_details(
        {
            # The contact's fields, as changes and lists of fields name them.
            "email": _("e-mail"),
            "phone": _("téléphone"),
            "first_name": _("prénom"),
            "last_name": _("nom"),
            "postcode": _("code postal"),
            "departement": _("département"),
            "region": (_("région"), region_name),
            "fields": (_("champs"), field_names),
            "field": (_("champ"), field_names),
            "before": _("avant"),
            # Consents and their proof.
            "purposes": (_("finalités"), purposes),
            "purpose": (_("finalité"), purposes),
            "withdrawn": (_("consentements retirés"), purposes),
            "status": (_("état"), choices(dict(Consent.Status.choices))),
            "basis": (_("base légale"), choices(dict(Consent.Basis.choices))),
            "source": (_("source"), choices(dict(Consent.Source.choices) | SOURCE_LABELS)),
            "source_ref": (_("référence"), source_reference),
            "statement": (_("texte accepté"), source_reference),
            "reason": (_("motif"), choices(REASONS)),
            "suppressed": _("adresse bloquée"),
            "scope": (_("portée"), choices(SCOPES)),
            "channel": (_("canal"), choices(CHANNELS)),
            "ip": _("adresse IP"),
            "user_agent": _("navigateur"),
            "requested_at": (_("demandé le"), date_time),
            "requested_ip": _("adresse IP de la demande"),
            "requested_user_agent": _("navigateur de la demande"),
            "confirmed_ip": _("adresse IP de la confirmation"),
            "confirmed_user_agent": _("navigateur de la confirmation"),
            # Reads, exports, imports.
            "batch": (_("import"), numbered),
            "query": _("recherche"),
            "q": _("texte cherché"),
            "tag": _("étiquette"),
            "segment": _("segment"),
            "limit": _("nombre demandé"),
            "id": (pgettext("numéro d'un objet", "numéro"), numbered),
            "count": _("nombre"),
            "masked": _("masqués"),
            "rate_limited": _("freiné"),
            "email_hash": _("empreinte de l'adresse"),
            "format": _("format"),
            "name": _("nom"),
            "contacts": _("contacts"),
            "filename": _("fichier"),
            "size": (_("taille"), file_size),
            "mapping": _("colonnes"),
            "invalid": _("lignes invalides"),
            "warnings": _("avertissements"),
        }
    )


def _register_timeline() -> None:
    for kind, label in {
        "created": _("Ajout à la base"),
        "updated": _("Modification"),
        "consent": _("Consentement"),
        "consent_withdrawn": _("Consentement retiré"),
        "suppression_lifted": _("Blocage de l'adresse levé"),
        "signup_confirmed": _("Inscription confirmée"),
        "reveal": _("Coordonnées révélées"),
        "import": _("Import"),
        # Kinds that older versions wrote.
        "signup": _("Inscription"),
        "consent.granted": _("Consentement accordé"),
        "consent.confirmed": _("Consentement confirmé"),
        "consent.withdrawn": _("Consentement retiré"),
        "unsubscribe": _("Désinscription"),
        "update": _("Modification"),
        "change": _("Modification"),
    }.items():
        register_event(kind, label)
    # An unsubscription's reference is the campaign whose mail it came from.
    register_event("unsubscribed", _("Désinscription"), details={"source_ref": _("campagne")})


# --- Sentences --------------------------------------------------------------------------------


def _contacts_read(entry: Entry) -> str:
    count = int(entry.detail("count", 0) or 0)
    api = entry.detail("via") == "api"
    if entry.event.object_id:
        template = (
            gettext("%(actor)s a lu la fiche de %(object)s par l'API")
            if api
            else gettext("%(actor)s a ouvert la fiche de %(object)s")
        )
        return entry.say(template, object=entry.object)
    if entry.detail("masked"):
        template = ngettext(
            "%(actor)s a lu %(count)s contact masqué",
            "%(actor)s a lu %(count)s contacts masqués",
            count,
        )
    else:
        template = ngettext(
            "%(actor)s a lu %(count)s contact en clair",
            "%(actor)s a lu %(count)s contacts en clair",
            count,
        )
    sentence = entry.say(template, count=number(count))
    if api:
        sentence = entry.say(gettext("%(sentence)s par l'API"), sentence=sentence)
    else:
        sentence = entry.say(gettext("%(sentence)s dans la liste des contacts"), sentence=sentence)
    query = entry.detail("query") or {}
    if isinstance(query, dict) and query.get("q"):
        sentence = entry.say(
            gettext("%(sentence)s, recherche « %(q)s »"), sentence=sentence, q=query["q"]
        )
    if isinstance(query, dict) and query.get("segment"):
        sentence = entry.say(
            gettext("%(sentence)s, segment %(segment)s"),
            sentence=sentence,
            segment=entry.ref("query.segment", "people.segment"),
        )
    return sentence


def _search_refused(entry: Entry) -> str:
    if entry.detail("field") == "phone":
        template = gettext(
            "%(actor)s a cherché un numéro de téléphone qui lui est masqué (« %(query)s ») : "
            "recherche refusée"
        )
    else:
        template = gettext(
            "%(actor)s a cherché une adresse e-mail qui lui est masquée (« %(query)s ») : "
            "recherche refusée"
        )
    return entry.say(template, query=entry.detail("query"))


def _access_export(entry: Entry) -> str:
    if entry.detail("via") == "api":
        template = gettext(
            "%(actor)s a exporté par l'API les données de %(object)s (droit d'accès, RGPD)"
        )
    else:
        template = gettext("%(actor)s a exporté les données de %(object)s (droit d'accès, RGPD)")
    return entry.say(template, object=entry.object)


def _segment_export(entry: Entry) -> str:
    count = int(entry.detail("count", 0) or 0)
    if entry.detail("scope") == "base" or not entry.event.object_id:
        template = ngettext(
            "%(actor)s a exporté toute la base (%(count)s contact)",
            "%(actor)s a exporté toute la base (%(count)s contacts)",
            count,
        )
        return entry.say(template, count=number(count))
    name = entry.detail("segment")
    segment = entry.name_of(
        "people.segment", entry.event.object_id, fallback=f"« {name} »" if name else ""
    )
    template = ngettext(
        "%(actor)s a exporté le segment %(segment)s (%(count)s contact)",
        "%(actor)s a exporté le segment %(segment)s (%(count)s contacts)",
        count,
    )
    return entry.say(template, segment=segment, count=number(count))


def _bulk_tags(entry: Entry) -> str:
    count = int(entry.detail("count", 0) or 0)
    tags = ", ".join(f"« {t} »" for t in entry.detail("tags", []) or [])
    if entry.event.action == "contacts.tag":
        template = ngettext(
            "%(actor)s a ajouté %(tags)s à %(count)s contact",
            "%(actor)s a ajouté %(tags)s à %(count)s contacts",
            count,
        )
    else:
        template = ngettext(
            "%(actor)s a retiré %(tags)s de %(count)s contact",
            "%(actor)s a retiré %(tags)s de %(count)s contacts",
            count,
        )
    return entry.say(template, tags=tags, count=number(count))


def _bulk_segment(entry: Entry) -> str:
    count = int(entry.detail("count", 0) or 0)
    name = entry.detail("segment_name")
    segment = entry.name_of(
        "people.segment", entry.event.object_id, fallback=f"« {name} »" if name else ""
    )
    template = ngettext(
        "%(actor)s a ajouté %(count)s contact au segment %(segment)s",
        "%(actor)s a ajouté %(count)s contacts au segment %(segment)s",
        count,
    )
    return entry.say(template, segment=segment, count=number(count))


def _bulk_erase(entry: Entry) -> str:
    count = int(entry.detail("count", 0) or 0)
    template = ngettext(
        "%(actor)s a effacé %(count)s contact (droit à l'effacement, RGPD)",
        "%(actor)s a effacé %(count)s contacts (droit à l'effacement, RGPD)",
        count,
    )
    return entry.say(template, count=number(count))


def _tag_delete(entry: Entry) -> str:
    count = int(entry.detail("contacts", 0) or 0)
    template = ngettext(
        "%(actor)s a supprimé l'étiquette « %(name)s » (portée par %(count)s contact)",
        "%(actor)s a supprimé l'étiquette « %(name)s » (portée par %(count)s contacts)",
        count,
    )
    return entry.say(template, name=entry.detail("name"), count=number(count))


def _report_download(entry: Entry) -> str:
    if entry.event.action == "import.report_download":
        count = int(entry.detail("invalid", 0) or 0)
        template = ngettext(
            "%(actor)s a téléchargé %(count)s ligne invalide de l'import %(object)s",
            "%(actor)s a téléchargé les %(count)s lignes invalides de l'import %(object)s",
            count,
        )
    else:
        count = int(entry.detail("warnings", 0) or 0)
        template = ngettext(
            "%(actor)s a téléchargé %(count)s avertissement de l'import %(object)s",
            "%(actor)s a téléchargé les %(count)s avertissements de l'import %(object)s",
            count,
        )
    return entry.say(template, object=entry.object, count=number(count))

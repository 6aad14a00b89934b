"""The words of the watch's codes: the sentences of its audit entries (merges of stories, the
review of tracers' submissions) and the objects they link to. Registered from WatchConfig.ready."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from essaim.accounts.services.audit_log import (
    Entry,
    ObjectKind,
    load_by_pk,
    register_action,
    register_family,
    register_object,
)
from essaim.watch import rules
from essaim.watch.models import Item, Story, Submission, Synthesis, TriageState, WebhookEndpoint


def register() -> None:
    register_family("watch", _("Veille"), ("watch.",), order=50)
    register_object(
        "watch.story",
        ObjectKind(
            load=load_by_pk(Story),
            name=str,
            url=lambda s, reader: (
                reverse("watch:story_detail", args=[s.pk]) if rules.can_see_stream(reader) else None
            ),
        ),
    )
    register_object("watch.item", ObjectKind(load=load_by_pk(Item), name=str))
    register_object(
        "watch.synthesis",
        ObjectKind(
            load=load_by_pk(Synthesis),
            name=str,
            url=lambda s, reader: (
                reverse("watch:synthesis_detail", args=[s.pk])
                if rules.can_read_syntheses(reader)
                else None
            ),
        ),
    )
    register_action(
        "watch.story_mission_opened",
        lambda e: e.say(
            gettext("%(actor)s a ouvert une mission en réponse au sujet %(object)s"),
            object=e.object,
        ),
    )
    register_action(
        "watch.synthesis_edited",
        lambda e: e.say(gettext("%(actor)s a modifié la %(object)s"), object=e.object),
    )
    register_action(
        "watch.synthesis_published",
        lambda e: e.say(gettext("%(actor)s a publié la %(object)s"), object=e.object),
    )
    register_action(
        "watch.triage_decided",
        lambda e: e.say(
            gettext("%(actor)s a trié le sujet %(object)s : %(decision)s"),
            object=e.object,
            decision=_decision_label(e.detail("decision")),
        ),
    )
    register_object("watch.webhook", ObjectKind(load=load_by_pk(WebhookEndpoint), name=str))
    register_action(
        "watch.webhook_added",
        lambda e: e.say(
            gettext("%(actor)s a ajouté le webhook d'alertes %(url)s"), url=e.detail("url")
        ),
    )
    register_action(
        "watch.webhook_removed",
        lambda e: e.say(
            gettext("%(actor)s a supprimé le webhook d'alertes %(url)s"), url=e.detail("url")
        ),
    )
    register_action("watch.merge_accepted", _merge_accepted, refs={"item": "watch.item"})
    register_action(
        "watch.merge_rejected",
        lambda e: e.say(
            gettext("%(actor)s a refusé de rattacher l'élément %(item)s au sujet %(object)s"),
            item=e.ref("item", "watch.item"),
            object=e.object,
        ),
        refs={"item": "watch.item"},
    )
    register_object(
        "watch.submission",
        ObjectKind(
            load=load_by_pk(Submission, related=["item"]),
            name=lambda s: s.item.title or s.url,
            url=lambda s, reader: (
                reverse("watch:review_queue") + f"?etat={s.state}#signalement-{s.pk}"
                if rules.can_review(reader, s)
                else None
            ),
        ),
    )
    register_action(
        "watch.submission_accepted",
        lambda e: e.say(gettext("%(actor)s a retenu le signalement %(object)s"), object=e.object),
    )
    register_action(
        "watch.submission_rejected",
        lambda e: e.say(
            gettext("%(actor)s a écarté le signalement %(object)s : %(reason)s"),
            object=e.object,
            reason=e.detail("reason"),
        ),
    )


def _merge_accepted(e: Entry) -> str:
    return e.say(
        gettext("%(actor)s a rattaché l'élément %(item)s et ses échos au sujet %(object)s"),
        item=e.ref("item", "watch.item"),
        object=e.object,
    )


def _decision_label(value: str) -> str:
    return str(TriageState(value).label) if value in TriageState.values else str(value)

"""The words of the watch's codes: the sentences of its audit entries (the review of tracers'
submissions) and the objects they link to. Registered from WatchConfig.ready."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from essaim.accounts.services.audit_log import (
    ObjectKind,
    load_by_pk,
    register_action,
    register_family,
    register_object,
)
from essaim.watch import rules
from essaim.watch.models import Submission


def register() -> None:
    register_family("watch", _("Veille"), ("watch.",), order=40)
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

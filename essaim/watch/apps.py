from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WatchConfig(AppConfig):
    name = "essaim.watch"
    verbose_name = _("La veille")

    def ready(self) -> None:
        from essaim.accounts.services.dashboard import register_panel
        from essaim.accounts.services.navigation import Group, register_menu
        from essaim.army.services.proof_picks import register_picker
        from essaim.people.services.demo import register_step
        from essaim.people.services.gdpr_sections import register_section
        from essaim.watch import labels
        from essaim.watch.services import alerts, demo, gdpr, notices, proof_picks

        # The words of the watch's audit codes (merges of stories, reviews of submissions).
        labels.register()
        alerts.register_kinds()
        # The veilleurs (a volunteer role, not an account role) find the triage from home.
        register_panel("watch_triage", "watch/dashboard/triage.html", triage_panel, order=8)
        register_menu("watch", Group("watch", _("Veille"), 50), menu)
        # A person's access report lists the sources their accounts added and the links they
        # submitted as a tracer. No erase step: a source belongs to the campaign, and its author
        # is a foreign key set to null with the account; submissions go with the account (as a
        # mission's proofs do), not with the contact.
        register_section("watch", order=30, report=gdpr.access_section)
        # `essaim demo` adds sources in each state of health, with items.
        register_step("watch", demo.seed_demo_watch, order=40)
        # A tracer is told when a submission of theirs is accepted or rejected.
        notices.register_kinds()
        # A `trace` mission's proof may be one of the volunteer's submissions.
        register_picker("trace", proof_picks.PICKER)


def menu(user: Any) -> list[tuple[str, str] | tuple[str, str, Any] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.accounts.rules import is_hq
    from essaim.accounts.services.notifications import unread_count
    from essaim.watch import rules
    from essaim.watch.services.notices import TRACER_KINDS

    # By account role, without a query on every page: a volunteer heading a team and the
    # veilleurs (volunteer roles, a query away) reach the stream and the watchlists from their
    # links, and the pages check again; every volunteer gets "Signaler" (one without the role
    # reads there how to get it; a veilleur finds the review queue there).
    entries: list[tuple[str, str] | tuple[str, str, Any] | None] = []
    hq_or_coordinator = is_hq(user) or user.is_coordinator
    if hq_or_coordinator:
        entries.append((gettext("Sujets"), reverse("watch:story_list")))
        entries.append((gettext("Tri"), reverse("watch:triage_queue")))
        entries.append((gettext("Alertes"), reverse("watch:alert_list")))
    if rules.can_manage_sources(user):
        entries.append((gettext("Sources"), reverse("watch:source_list")))
    if hq_or_coordinator:
        entries.append((gettext("Listes de veille"), reverse("watch:watchlist_list")))
        entries.append((gettext("Recherche"), reverse("watch:item_search")))
        entries.append((gettext("Synthèse"), reverse("watch:synthesis_list")))
    if user.is_volunteer:
        entries.append(
            (gettext("Signaler"), reverse("watch:tracer"), lambda: unread_count(user, TRACER_KINDS))
        )
    if hq_or_coordinator:
        entries.append((gettext("Signalements"), reverse("watch:review_queue")))
    return entries


def triage_panel(user: Any) -> dict[str, Any] | None:
    from django.urls import reverse

    from essaim.watch import rules
    from essaim.watch.services import triage

    # HQ reaches the triage from its menu; the panel is for the veilleurs, who have none.
    if rules.can_manage_sources(user) or not rules.is_veilleur(user):
        return None
    # Capped: the figure says "much", it need not count thousands on every home page.
    waiting = triage.queue().values("pk")[:1000].count()
    return {"url": reverse("watch:triage_queue"), "waiting": waiting}

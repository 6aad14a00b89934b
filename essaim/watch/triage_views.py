"""The veilleurs' triage and the alerts: the queue of stories the watchlists matched, a story
taken and decided, the alerts with their explanations. Thin: parse, authorize, call a service
(essaim.watch.services.triage), render."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from essaim.accounts.models import Role, User
from essaim.accounts.rules import is_hq
from essaim.accounts.services import audit
from essaim.lib.confirm import ask, confirmed
from essaim.lib.numbers import ascii_int
from essaim.lib.pagination import keyset_page, querystring
from essaim.watch import live, rules
from essaim.watch.models import (
    Alert,
    AlertPreference,
    Story,
    TriageState,
    Watchlist,
    WebhookEndpoint,
)
from essaim.watch.services import triage


def _require_see(request: HttpRequest) -> None:
    if not rules.can_see_triage(request.user):
        raise PermissionDenied


def _require_triage(request: HttpRequest) -> None:
    if not rules.can_triage(request.user):
        raise PermissionDenied


def _int(value: str) -> int | None:
    return ascii_int(value, max_digits=11)


def assignees() -> QuerySet[User]:
    """Those a story can be given to: HQ and the active veilleurs."""
    from essaim.army.models import RoleAssignment, Stage

    veilleurs = RoleAssignment.objects.filter(role__slug=rules.VEILLEUR, stage=Stage.ACTIVE).values(
        "volunteer_id"
    )
    return (
        User.objects.filter(is_active=True)
        .filter(Q(role__in=[Role.HQ_ADMIN, Role.HQ_STAFF]) | Q(pk__in=veilleurs))
        .select_related("volunteer__contact")
        .order_by("email")
    )


def _queue_filters(request: HttpRequest) -> tuple[int | None, str]:
    watchlist_id = _int(request.GET.get("liste", "").strip())
    state = request.GET.get("etat", TriageState.NEW)
    if state not in TriageState.values:
        state = TriageState.NEW
    return watchlist_id, state


def _queue_params(watchlist_id: int | None, state: str) -> dict[str, str]:
    params = {"etat": state}
    if watchlist_id is not None:
        params["liste"] = str(watchlist_id)
    return params


@login_required
@require_GET
def triage_queue(request: HttpRequest) -> HttpResponse:
    _require_see(request)
    watchlist_id, state = _queue_filters(request)
    page = keyset_page(triage.queue(watchlist_id=watchlist_id, state=state), request, size=50)
    full = is_hq(request.user)
    rows = [
        (story, triage.shown_name(t.assigned_to, full=full) if t and t.assigned_to_id else "")
        for story in page.items
        for t in [getattr(story, "triage", None)]
    ]
    newest = live.newest_shown(page)
    return render(
        request,
        "watch/triage_queue.html",
        {
            "page": page,
            "rows": rows,
            "qs": querystring(request),
            "watchlists": Watchlist.objects.order_by("name").values_list("pk", "name"),
            "watchlist_id": watchlist_id,
            "state": state,
            "states": TriageState.choices,
            "now": timezone.now(),
            "poll_url": (
                None
                if newest is None
                else reverse("watch:triage_news")
                + "?"
                + urlencode({**_queue_params(watchlist_id, state), live.SINCE: newest})
            ),
        },
    )


@live.poll_view
def triage_news(request: HttpRequest) -> HttpResponse:
    """The queue's live banner: how many stories in the page's state (and watchlist) arrived
    after the newest it showed."""
    _require_see(request)
    watchlist_id, state = _queue_filters(request)
    count = triage.newer_count(watchlist_id=watchlist_id, state=state, after=live.since(request))
    return live.news(
        count=count,
        text=ngettext("%(n)s nouveau sujet à trier", "%(n)s nouveaux sujets à trier", count)
        % {"n": formats.number_format(count, force_grouping=True)},
        list_url=reverse("watch:triage_queue")
        + "?"
        + urlencode(_queue_params(watchlist_id, state)),
        region="triage-live",
    )


@login_required
@require_GET
def triage_story(request: HttpRequest, pk: int) -> HttpResponse:
    _require_see(request)
    # Only the triage's stories: the others are the stream's, which not everyone here reads.
    story = get_object_or_404(triage.in_scope().select_related("first_source", "first_item"), pk=pk)
    state = triage.state_of(story)
    full = is_hq(request.user)
    now = timezone.now()
    lock_live = bool(
        state and state.locked_by_id and state.locked_until and state.locked_until >= now
    )
    mine = lock_live and state is not None and state.locked_by_id == request.user.pk
    can_triage = rules.can_triage(request.user)
    return render(
        request,
        "watch/triage_story.html",
        {
            "story": story,
            "state": state,
            "current": state.state if state else TriageState.NEW,
            "current_label": TriageState(state.state if state else TriageState.NEW).label,
            "lock_live": lock_live,
            "mine": mine,
            "can_triage": can_triage,
            "can_decide": can_triage and (mine or not lock_live),
            "assigned_name": (
                triage.shown_name(state.assigned_to, full=full)
                if state is not None and state.assigned_to_id
                else ""
            ),
            "history": [
                (
                    decision,
                    triage.shown_name(decision.user, full=full),
                    triage.shown_name(decision.assigned_to, full=full)
                    if decision.assigned_to_id
                    else "",
                )
                for decision in triage.history(story)[:50]
            ],
            "assignees": (
                [(person.pk, triage.shown_name(person, full=full)) for person in assignees()]
                if can_triage
                else []
            ),
            # The story's own page is the stream's: offered to those who may open it.
            "can_open_story": rules.can_see_stream(request.user),
            "decisions": [(value, TriageState(value).label) for value in triage.DECISIONS],
            "matches": story_matches(story),
        },
    )


def story_matches(story: Story) -> list[tuple[str, list[str]]]:
    """The watchlists that matched the story's items, with the terms they found."""
    from essaim.watch.models import WatchlistMatch

    found: dict[str, set[str]] = {}
    for name, terms in WatchlistMatch.objects.filter(item__story=story).values_list(
        "watchlist__name", "terms"
    )[:500]:
        found.setdefault(name, set()).update(str(t) for t in terms or [])
    return [(name, sorted(terms)) for name, terms in sorted(found.items())]


@login_required
@require_POST
def triage_take(request: HttpRequest, pk: int) -> HttpResponse:
    _require_triage(request)
    story = get_object_or_404(triage.in_scope(), pk=pk)
    try:
        triage.take(story=story, user=request.user)
        messages.success(request, _("Le sujet est à vous pendant quinze minutes."))
    except triage.Locked:
        messages.warning(request, _("Ce sujet est en cours par quelqu'un d'autre."))
    return redirect("watch:triage_story", pk=story.pk)


@login_required
@require_POST
def triage_release(request: HttpRequest, pk: int) -> HttpResponse:
    _require_triage(request)
    story = get_object_or_404(triage.in_scope(), pk=pk)
    if triage.release(story=story, user=request.user):
        messages.success(request, _("Le sujet est rendu."))
    return redirect("watch:triage_story", pk=story.pk)


@login_required
@require_POST
def triage_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _require_triage(request)
    story = get_object_or_404(triage.in_scope(), pk=pk)
    decision = request.POST.get("decision", "")
    assignee_id = _int(request.POST.get("assign_to", "").strip())
    assign_to = User.objects.filter(pk=assignee_id).first() if assignee_id else None
    try:
        triage.decide(
            story=story,
            user=request.user,
            decision=decision,
            note=request.POST.get("note", ""),
            assign_to=assign_to,
            request=request,
        )
    except triage.Locked:
        messages.warning(
            request,
            _("Ce sujet est en cours par quelqu'un d'autre : la décision n'a pas été prise."),
        )
        return redirect("watch:triage_story", pk=story.pk)
    except triage.InvalidDecision:
        messages.error(
            request, _("Choisissez une décision (et, pour confier, une personne qui trie).")
        )
        return redirect("watch:triage_story", pk=story.pk)
    messages.success(
        request, _("Décision enregistrée : %(label)s.") % {"label": TriageState(decision).label}
    )
    return redirect("watch:triage_queue")


def _alert_kind(request: HttpRequest) -> str:
    kind = request.GET.get("type", "")
    return kind if kind in Alert.Kind.values else ""


def _alerts(kind: str) -> QuerySet[Alert]:
    alerts = Alert.objects.select_related("story", "watchlist")
    return alerts.filter(kind=kind) if kind else alerts


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    _require_see(request)
    kind = _alert_kind(request)
    page = keyset_page(_alerts(kind), request, size=50)
    newest = live.newest_shown(page)
    return render(
        request,
        "watch/alert_list.html",
        {
            "page": page,
            "qs": querystring(request),
            "kind": kind,
            "kinds": Alert.Kind.choices,
            "can_manage_webhooks": rules.can_manage_webhooks(request.user),
            "poll_url": (
                None
                if newest is None
                else reverse("watch:alert_news")
                + "?"
                + urlencode({**({"type": kind} if kind else {}), live.SINCE: newest})
            ),
        },
    )


@live.poll_view
def alert_news(request: HttpRequest) -> HttpResponse:
    """The alerts' live banner: how many alerts (of the page's kind) were raised after the
    newest it showed. One COUNT, its range on the primary key."""
    _require_see(request)
    kind = _alert_kind(request)
    count = _alerts(kind).filter(pk__gt=live.since(request)).count()
    return live.news(
        count=count,
        text=ngettext("%(n)s nouvelle alerte", "%(n)s nouvelles alertes", count)
        % {"n": formats.number_format(count, force_grouping=True)},
        list_url=reverse("watch:alert_list") + (f"?{urlencode({'type': kind})}" if kind else ""),
        region="alerts-live",
    )


@login_required
@require_GET
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_see(request)
    alert = get_object_or_404(Alert.objects.select_related("story", "watchlist"), pk=pk)
    return render(request, "watch/alert_detail.html", {"alert": alert, "x": alert.explanation})


PREFERENCE_FIELDS = ("urgent", "spike", "in_app", "email")


@login_required
def alert_settings(request: HttpRequest) -> HttpResponse:
    """One's own choice of alerts: which kinds, by which channels."""
    _require_see(request)
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    user_id = int(request.user.pk or 0)  # signed in: login_required
    preference = AlertPreference.objects.filter(user_id=user_id).first()
    if request.method == "POST":
        values = {field: request.POST.get(field) == "on" for field in PREFERENCE_FIELDS}
        AlertPreference.objects.update_or_create(user_id=user_id, defaults=values)
        messages.success(request, _("Vos choix d'alertes sont enregistrés."))
        return redirect("watch:alert_settings")
    current = (
        {field: getattr(preference, field) for field in PREFERENCE_FIELDS}
        if preference
        else {"urgent": True, "spike": True, "in_app": is_hq(request.user), "email": False}
    )
    fields = [
        (field, label, current[field])
        for field, label in (
            ("urgent", _("Sujets urgents")),
            ("spike", _("Pics des listes de veille")),
            ("in_app", _("Dans l'application")),
            ("email", _("Par courriel")),
        )
    ]
    return render(request, "watch/alert_settings.html", {"fields": fields})


@never_cache
@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    """HQ's webhooks: the list, and a form to add one (the secret is made here and shown once)."""
    if not rules.can_manage_webhooks(request.user):
        raise PermissionDenied
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    error = ""
    url = ""
    if request.method == "POST":
        url = request.POST.get("url", "").strip()[:2000]
        if not _is_web_url(url):
            error = _("Donnez une adresse http:// ou https:// complète.")
        else:
            secret = secrets.token_urlsafe(32)
            endpoint = WebhookEndpoint.objects.create(
                url=url, secret=secret, created_by_id=request.user.pk
            )
            audit(action="watch.webhook_added", request=request, obj=endpoint, url=url)
            # The secret is in this answer only: never in a message (the messages cookie is
            # signed, not encrypted), a redirect or the session, and never cached.
            response = render(
                request, "watch/webhook_created.html", {"endpoint": endpoint, "secret": secret}
            )
            response["Cache-Control"] = "no-store"
            return response
    endpoints = WebhookEndpoint.objects.order_by("-pk")[:200]
    return render(
        request,
        "watch/alert_webhooks.html",
        {"endpoints": endpoints, "error": error, "url": url},
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not rules.can_manage_webhooks(request.user):
        raise PermissionDenied
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if not confirmed(request):
        return ask(
            request,
            dialog_id="webhook-delete-dialog",
            title=_("Supprimer le webhook %s ?") % endpoint.url,
            text=_("Les alertes ne lui seront plus envoyées. C'est irréversible."),
            confirm_label=_("Supprimer"),
            tone="danger",
            action=reverse("watch:webhook_delete", args=[endpoint.pk]),
            cancel_url=reverse("watch:webhook_list"),
            eyebrow=_("Supprimer le webhook"),
            heading=endpoint.url,
        )
    audit(action="watch.webhook_removed", request=request, obj=endpoint, url=endpoint.url)
    endpoint.delete()
    messages.success(request, _("Webhook supprimé."))
    return redirect("watch:webhook_list")


def _is_web_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)

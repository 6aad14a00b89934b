"""The stream of stories (HQ and coordinators): stories newest first with their counts, a
story's echoes and spread, the merges a person is asked to decide (HQ), and the evidence
behind an item. Thin: parse, authorize, call a service, render."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from essaim.army.rules import missions as army_rules
from essaim.lib.charts import Chart, Series
from essaim.lib.pagination import int_param, keyset_page, querystring
from essaim.watch import live, rules
from essaim.watch.models import (
    Evidence,
    Item,
    MergeSuggestion,
    Source,
    Story,
    TriageState,
    Watchlist,
)
from essaim.watch.services import merges, respond, stream

# The periods the stream filters by: (value in the URL, label, length).
PERIODS = [
    ("24h", gettext_lazy("24 heures"), dt.timedelta(hours=24)),
    ("7j", gettext_lazy("7 jours"), dt.timedelta(days=7)),
    ("30j", gettext_lazy("30 jours"), dt.timedelta(days=30)),
]
# Echoes listed on a story's page (the chart counts them all).
ECHOES_SHOWN = 300


def _require_stream(request: HttpRequest) -> None:
    if not rules.can_see_stream(request.user):
        raise PermissionDenied


@dataclasses.dataclass(frozen=True)
class StreamQuery:
    """The stream's filters as the page read them from its URL, cleaned."""

    q: str = ""
    watchlist: int | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    period: str = ""
    triage: str = ""

    def filters(self) -> stream.Filters:
        since = next((length for value, _label, length in PERIODS if value == self.period), None)
        return stream.Filters(
            q=self.q,
            watchlist=self.watchlist,
            labels=self.labels,
            since=since,
            triage=self.triage,
        )

    def params(self) -> dict[str, str]:
        """The filters as URL parameters (those set only)."""
        params = {
            "q": self.q,
            "liste": str(self.watchlist or ""),
            "tri": self.triage,
            "periode": self.period,
            **self.labels,
        }
        return {name: value for name, value in params.items() if value}


def stream_query(request: HttpRequest, *, watchlists: set[int] | None) -> StreamQuery:
    """The stream's filters from the URL; a watchlist outside `watchlists` (the active ones)
    is dropped (None: taken as given, by a poll whose URL the page wrote)."""
    labels: dict[str, str] = {}
    for param in stream.LABELS:
        value = request.GET.get(param, "").strip()[:100]
        if value:
            labels[param] = value
    period = request.GET.get("periode", "")
    if period not in {value for value, _label, _length in PERIODS}:
        period = ""
    watchlist = int_param(request, "liste")
    if watchlists is not None and watchlist not in watchlists:
        watchlist = None
    triage = request.GET.get("tri", "")
    if triage not in TriageState.values:
        triage = ""
    q = request.GET.get("q", "").strip()[:200]
    return StreamQuery(q=q, watchlist=watchlist, labels=labels, period=period, triage=triage)


@login_required
@require_GET
def story_list(request: HttpRequest) -> HttpResponse:
    _require_stream(request)
    watchlists = list(
        Watchlist.objects.filter(active=True).order_by("name").values_list("pk", "name")
    )
    query = stream_query(request, watchlists={pk for pk, _name in watchlists})
    page = keyset_page(stream.stories(query.filters()), request, size=50)
    label_values = Source.objects.exclude(camp="", zone="").values_list("camp", "zone").distinct()
    camps = sorted({c for c, _z in label_values if c})
    zones = sorted({z for _c, z in label_values if z})
    pending = (
        MergeSuggestion.objects.filter(status=MergeSuggestion.Status.PENDING).count()
        if rules.can_review_merges(request.user)
        else 0
    )
    newest = live.newest_shown(page)
    return render(
        request,
        "watch/story_list.html",
        {
            "page": page,
            "qs": querystring(request),
            "filters": query.labels,
            "filtered": bool(query.params()),
            "q": query.q,
            "watchlist": query.watchlist,
            "watchlists": watchlists,
            "triage": query.triage,
            "triage_states": TriageState.choices,
            "period": query.period,
            "periods": [(value, label) for value, label, _length in PERIODS],
            "camps": camps,
            "zones": zones,
            "media_types": [c for c in Source.MediaType.choices if c[0]],
            "pending_suggestions": pending,
            "poll_url": (
                None
                if newest is None
                else reverse("watch:story_news")
                + "?"
                + urlencode({**query.params(), live.SINCE: newest})
            ),
        },
    )


@live.poll_view
def story_news(request: HttpRequest) -> HttpResponse:
    """The stream's live banner: how many stories under the page's filters arrived after the
    newest it showed."""
    _require_stream(request)
    query = stream_query(request, watchlists=None)
    count = stream.newer_count(query.filters(), after=live.since(request))
    params = query.params()
    return live.news(
        count=count,
        text=ngettext("%(n)s nouveau sujet", "%(n)s nouveaux sujets", count)
        % {"n": formats.number_format(count, force_grouping=True)},
        list_url=reverse("watch:story_list") + ("?" + urlencode(params) if params else ""),
        region="stream-live",
    )


@login_required
@require_GET
def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_stream(request)
    story = get_object_or_404(Story.objects.select_related("first_source", "first_item"), pk=pk)
    echoes = list(
        Item.objects.filter(story=story)
        .select_related("source")
        .defer("source__etag", "source__last_modified", "summary")
        .order_by("seen_at", "pk")[:ECHOES_SHOWN]
    )
    times = list(
        Item.objects.filter(story=story)
        .order_by("seen_at", "pk")
        .values_list("seen_at", "source_id")
    )
    can_review = rules.can_review_merges(request.user)
    suggestions = (
        list(
            MergeSuggestion.objects.filter(status=MergeSuggestion.Status.PENDING)
            .filter(Q(story=story) | Q(item__story=story))
            .select_related("item__source", "item__story", "story")
            .order_by("-similarity", "pk")[:20]
        )
        if can_review
        else []
    )
    responses = respond.responses(story)
    # The missions this user runs (HQ: all; a coordinator: their teams'), linked to their page.
    scope = army_rules.review_scope(request.user) if responses else set()
    return render(
        request,
        "watch/story_detail.html",
        {
            "story": story,
            "echoes": echoes,
            "more_echoes": max(0, story.items_count - len(echoes)),
            "chart": spread_chart(story, times),
            "suggestions": suggestions,
            "can_review": can_review,
            "responses": responses,
            "can_respond": army_rules.can_review(request.user),
            "runnable": {
                r.mission.pk
                for r in responses
                if scope is None or (r.mission.team_id is not None and r.mission.team_id in scope)
            },
        },
    )


def spread_chart(story: Story, times: list[tuple[Any, int]]) -> Chart | None:
    """How the story spread: echoes and distinct sources so far, by hour over its first three
    days, by day beyond (a line from nothing, so that one bucket still shows)."""
    seen = [(when, source) for when, source in times if when is not None]
    if not seen:
        return None
    first, last = seen[0][0], seen[-1][0]
    hourly = last - first <= dt.timedelta(days=3)
    step = dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)
    local = timezone.localtime(first)
    start = (
        local.replace(minute=0, second=0, microsecond=0)
        if hourly
        else local.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    buckets = int((last - start) / step) + 1
    echoes = [0] * buckets
    sources = [0] * buckets
    known: set[int] = set()
    for when, source in seen:
        index = min(buckets - 1, int((when - start) / step))
        echoes[index] += 1
        if source not in known:
            known.add(source)
            sources[index] += 1
    labels = [start - step] + [start + step * i for i in range(buckets)]
    fmt = "d/m H\\h" if hourly else "d/m"

    def running(values: list[int]) -> list[int]:
        out, total = [0], 0
        for value in values:
            total += value
            out.append(total)
        return out

    return Chart(
        id="story-spread",
        title=_("Diffusion du sujet « %(title)s »") % {"title": story.title or story.pk},
        kind="line",
        labels=[formats.date_format(timezone.localtime(label), fmt) for label in labels],
        series=[
            Series(_("Échos"), running(echoes)),
            Series(_("Sources distinctes"), running(sources)),
        ],
        row_header=_("Heure") if hourly else _("Jour"),
    )


@login_required
@require_GET
def suggestion_list(request: HttpRequest) -> HttpResponse:
    if not rules.can_review_merges(request.user):
        raise PermissionDenied
    suggestions = MergeSuggestion.objects.filter(
        status=MergeSuggestion.Status.PENDING
    ).select_related("item__source", "item__story", "story", "similar_item__source")
    page = keyset_page(suggestions, request, size=50)
    return render(request, "watch/suggestion_list.html", {"page": page, "qs": querystring(request)})


@login_required
@require_POST
def suggestion_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, accept=True)


@login_required
@require_POST
def suggestion_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, accept=False)


def _decide(request: HttpRequest, pk: int, *, accept: bool) -> HttpResponse:
    if not rules.can_review_merges(request.user):
        raise PermissionDenied
    suggestion = get_object_or_404(MergeSuggestion, pk=pk)
    try:
        if accept:
            story = merges.accept_suggestion(
                suggestion_id=suggestion.pk, user=request.user, request=request
            )
            messages.success(request, _("L'élément et ses échos ont rejoint ce sujet."))
            return redirect("watch:story_detail", pk=story.pk)
        merges.reject_suggestion(suggestion_id=suggestion.pk, user=request.user, request=request)
        messages.success(request, _("Les deux sujets restent séparés."))
    except merges.AlreadyDecided:
        messages.info(request, _("Ce rapprochement a déjà été tranché."))
    return redirect("watch:suggestion_list")


@login_required
@require_GET
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The raw response an item came in, as its WARC record (gzipped): a download, never shown
    in the page (it is the web's content, as served)."""
    _require_stream(request)
    evidence = get_object_or_404(Evidence, pk=pk)
    response = HttpResponse(bytes(evidence.warc), content_type="application/warc")
    response["Content-Disposition"] = f'attachment; filename="essaim-preuve-{evidence.pk}.warc.gz"'
    return response

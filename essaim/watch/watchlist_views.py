"""The watchlists' pages and the search over items. HQ creates, edits and deletes watchlists;
coordinators and veilleurs read them, try queries in the test box and search. Thin: parse,
authorize, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from essaim.lib.pagination import keyset_page, querystring
from essaim.watch import live, rules
from essaim.watch.forms import WatchlistForm, WatchlistTestForm
from essaim.watch.models import Watchlist, WatchlistMatch
from essaim.watch.services import watchlists as svc
from essaim.watch.services.search import search_items
from essaim.watch.services.watchlists.query import QueryError


def _require_read(request: HttpRequest) -> None:
    if not rules.can_read_watchlists(request.user):
        raise PermissionDenied


def _require_manage(request: HttpRequest) -> None:
    if not rules.can_manage_watchlists(request.user):
        raise PermissionDenied


@login_required
@require_GET
def watchlist_list(request: HttpRequest) -> HttpResponse:
    _require_read(request)
    watchlists = Watchlist.objects.annotate(match_count=Count("matches")).order_by(
        "-active", "name", "id"
    )
    return render(
        request,
        "watch/watchlist_list.html",
        {
            "watchlists": watchlists,
            "can_manage": rules.can_manage_watchlists(request.user),
            "test_form": WatchlistTestForm(),
            "days": svc.PREVIEW_DAYS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def watchlist_create(request: HttpRequest) -> HttpResponse:
    _require_manage(request)
    form = WatchlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        watchlist = svc.save_watchlist(**_fields(form), by=request.user)
        messages.success(
            request,
            _(
                "Liste de veille créée : les éléments des %(days)d derniers jours sont "
                "passés en revue."
            )
            % {"days": svc.BACKFILL_DAYS},
        )
        return redirect("watch:watchlist_detail", pk=watchlist.pk)
    return render(request, "watch/watchlist_form.html", {"form": form, "watchlist": None})


@login_required
@require_http_methods(["GET", "POST"])
def watchlist_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manage(request)
    watchlist = get_object_or_404(Watchlist, pk=pk)
    initial = {
        "name": watchlist.name,
        "kind": watchlist.kind,
        "query": watchlist.query,
        "labels": ", ".join(watchlist.labels),
        "active": watchlist.active,
    }
    form = WatchlistForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        svc.save_watchlist(watchlist=watchlist, **_fields(form), by=request.user)
        messages.success(request, _("Liste de veille enregistrée."))
        return redirect("watch:watchlist_detail", pk=watchlist.pk)
    return render(request, "watch/watchlist_form.html", {"form": form, "watchlist": watchlist})


def _fields(form: WatchlistForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "kind": data["kind"],
        "query": data["query"],
        "labels": data["labels"],
        "active": data["active"],
    }


@login_required
@require_GET
def watchlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_read(request)
    watchlist = get_object_or_404(Watchlist.objects.select_related("created_by"), pk=pk)
    matches = WatchlistMatch.objects.filter(watchlist=watchlist).select_related("item__source")
    page = keyset_page(matches, request, size=50)
    return render(
        request,
        "watch/watchlist_detail.html",
        {
            "watchlist": watchlist,
            "page": page,
            "qs": querystring(request),
            "can_manage": rules.can_manage_watchlists(request.user),
            **_backfill_context(watchlist, polled=False),
        },
    )


def _backfill_context(watchlist: Watchlist, *, polled: bool) -> dict[str, Any]:
    """The review's state for the page's progress line: running (a paused watchlist is not
    reviewed), and the items found so far or in all."""
    return {
        "backfill_running": watchlist.active and watchlist.backfilled_at is None,
        "backfill_matches": watchlist.backfill_matches,
        "backfill_days": svc.BACKFILL_DAYS,
        "backfill_polled": polled,
        "watchlist": watchlist,
    }


@live.poll_view
def watchlist_backfill(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress line of a watchlist's review over the recent items, polled by its page
    until the review is done (the answer then has no poll left). One query: the row."""
    _require_read(request)
    watchlist = get_object_or_404(
        Watchlist.objects.only("pk", "active", "backfilled_at", "backfill_matches"), pk=pk
    )
    # Without the request's context processors: the poll runs its own query and no other.
    return HttpResponse(
        render_to_string(
            "watch/watchlist_detail.html#backfill", _backfill_context(watchlist, polled=True)
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def watchlist_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Deleting asks first (includes/confirm.html): a page of its own without script, the
    dialog's content through htmx; only the confirmation's POST deletes."""
    _require_manage(request)
    watchlist = get_object_or_404(Watchlist, pk=pk)
    if request.method != "POST" or request.POST.get("confirm") != "1":
        question = {
            "id": "delete-dialog",
            "title": _("Supprimer la liste « %(name)s » ?") % {"name": watchlist.name},
            "text": _(
                "Ses correspondances sont supprimées avec elle ; les éléments restent dans la "
                "veille."
            ),
            "action": reverse("watch:watchlist_delete", args=[watchlist.pk]),
            "confirm_label": _("Supprimer"),
            "tone": "danger",
            "cancel_url": reverse("watch:watchlist_detail", args=[watchlist.pk]),
        }
        if getattr(request, "htmx", False):
            return render(request, "includes/confirm.html", question)
        return render(request, "watch/watchlist_delete.html", {"watchlist": watchlist, **question})
    watchlist.delete()
    messages.success(request, _("Liste de veille supprimée."))
    return redirect("watch:watchlist_list")


@login_required
@require_GET
def watchlist_test(request: HttpRequest) -> HttpResponse:
    """The test box: what a query would match in the last days, terms highlighted. Through htmx
    the result alone; without script the list page around it."""
    _require_read(request)
    form = WatchlistTestForm(request.GET)
    context: dict[str, Any] = {"test_form": form, "days": svc.PREVIEW_DAYS, "tested": True}
    if form.is_valid():
        try:
            result = svc.preview(kind=form.cleaned_data["kind"], query=form.cleaned_data["query"])
        except QueryError as error:
            context["error"] = error
            context["caret"] = _caret(form.cleaned_data["query"], error.position)
        else:
            context |= {
                "previews": result.previews,
                "total": result.total,
                "scanned": result.scanned,
                "capped": result.capped,
            }
    else:
        context["error"] = _("Écrivez une requête à essayer.")
    if getattr(request, "htmx", False):
        return render(request, "watch/watchlist_list.html#test-result", context)
    context |= {
        "watchlists": Watchlist.objects.annotate(match_count=Count("matches")).order_by(
            "-active", "name", "id"
        ),
        "can_manage": rules.can_manage_watchlists(request.user),
    }
    return render(request, "watch/watchlist_list.html", context)


def _caret(query: str, position: int) -> tuple[str, str, str]:
    """The query cut where the error is, for the template to mark it."""
    position = max(0, min(position, len(query)))
    return query[:position], query[position : position + 1], query[position + 1 :]


@login_required
@require_GET
def item_search(request: HttpRequest) -> HttpResponse:
    _require_read(request)
    query = request.GET.get("q", "").strip()[:200]
    # Each row names its source: fetched with the items, not one query per row.
    found = search_items(query).select_related("source")
    page = keyset_page(found, request, size=50) if query else None
    return render(
        request,
        "watch/item_search.html",
        {"query": query, "page": page, "qs": querystring(request)},
    )

"""The watch's pages (HQ): sources with their health, add by URL, a source's history and
items, OPML import and export. Thin: parse, authorize, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from essaim.lib.pagination import keyset_page, querystring
from essaim.watch import rules
from essaim.watch.forms import AddSourceForm, OpmlImportForm
from essaim.watch.models import Source
from essaim.watch.services import sources as svc
from essaim.watch.services.health import error_words
from essaim.watch.services.opml import OpmlError

HISTORY_SHOWN = 30


def _require(request: HttpRequest) -> None:
    if not rules.can_manage_sources(request.user):
        raise PermissionDenied


@login_required
@require_GET
def source_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    counts = dict(
        Source.objects.values_list("status").annotate(n=Count("id")).order_by()  # type: ignore[arg-type]
    )
    status = request.GET.get("etat", "")
    sources = Source.objects.all()
    if status in Source.Status.values:
        sources = sources.filter(status=status)
    else:
        status = ""
    page = keyset_page(sources, request, size=50)
    for source in page.items:
        source.error_text = error_words(source.last_error)  # type: ignore[attr-defined]
    return render(
        request,
        "watch/source_list.html",
        {
            "page": page,
            "qs": querystring(request),
            "status": status,
            "total": sum(counts.values()),
            "counts": {value: counts.get(value, 0) for value in Source.Status.values},
            "statuses": Source.Status.choices,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def source_add(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = AddSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = svc.add_source(
                url=form.cleaned_data["url"], by=request.user, labels=form.labels()
            )
        except svc.AddRefused as exc:
            form.add_error("url", exc.message or error_words(exc.code))
        else:
            messages.success(request, _added_message(added))
            return redirect("watch:source_detail", pk=added.source.pk)
    return render(request, "watch/source_form.html", {"form": form})


@login_required
@require_GET
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    source = get_object_or_404(Source.objects.select_related("created_by"), pk=pk)
    history = list(source.fetches.order_by("-at", "-id")[:HISTORY_SHOWN])
    for fetch in history:
        fetch.words = _outcome_words(fetch.outcome)  # type: ignore[attr-defined]
    items = keyset_page(source.items.all(), request, size=50)
    return render(
        request,
        "watch/source_detail.html",
        {
            "source": source,
            "error_text": error_words(source.last_error),
            "history": history,
            "page": items,
            "qs": querystring(request),
            "interval_minutes": max(1, round(source.interval_seconds / 60)),
        },
    )


@login_required
@require_POST
def source_disable(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    source = get_object_or_404(Source, pk=pk)
    svc.disable_source(source)
    messages.success(request, _("Source désactivée : elle n'est plus relevée."))
    return redirect("watch:source_detail", pk=source.pk)


@login_required
@require_POST
def source_enable(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    source = get_object_or_404(Source, pk=pk)
    svc.enable_source(source)
    messages.success(request, _("Source réactivée : elle sera relevée dans un instant."))
    return redirect("watch:source_detail", pk=source.pk)


@login_required
@require_http_methods(["GET", "POST"])
def opml_import(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = OpmlImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            imported = svc.import_opml(
                form.cleaned_data["file"], by=request.user, labels=form.labels()
            )
        except OpmlError as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(
                request,
                ngettext(
                    "%(created)s source importée",
                    "%(created)s sources importées",
                    imported.created,
                )
                % {"created": imported.created}
                + " · "
                + ngettext(
                    "%(known)s déjà suivie",
                    "%(known)s déjà suivies",
                    imported.known,
                )
                % {"known": imported.known},
            )
            return redirect("watch:source_list")
    return render(request, "watch/opml_import.html", {"form": form})


@login_required
@require_GET
def opml_export(request: HttpRequest) -> HttpResponse:
    _require(request)
    response = HttpResponse(svc.export_opml(), content_type="text/x-opml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="essaim-sources.opml"'
    return response


def _added_message(added: svc.Added) -> str:
    source = added.source
    if added.how == "known":
        return _("Cette source est déjà suivie : %(name)s.") % {"name": source}
    if added.how == svc.DISCOVERED:
        return _("Flux trouvé sur la page %(page)s : %(feed)s.") % {
            "page": added.found_on,
            "feed": source.url,
        }
    if added.how == svc.CHANNEL:
        return _("Flux de la chaîne ajouté : %(feed)s.") % {"feed": source.url}
    if added.how == svc.PAGE:
        return _("Aucun flux sur cette page : elle sera surveillée pour ses changements.")
    return _("Flux ajouté : %(name)s.") % {"name": source}


def _outcome_words(code: str) -> str:
    words = {
        "ok": _("Relevé"),
        "not_modified": _("Inchangé (304)"),
        "unchanged": _("Inchangé (même contenu)"),
        "deferred": _("Reporté : le site demande d'attendre"),
    }
    return words.get(code) or error_words(code)

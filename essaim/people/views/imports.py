"""CSV imports of contacts (HQ only): list, upload, column mapping, progress, invalid-rows report.

The work happens in the background task `people.tasks.run_import`; these views only parse,
authorize, call a service and render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from essaim.accounts.services import audit
from essaim.lib.pagination import keyset_page, querystring
from essaim.lib.sorting import SortColumn, choice_order, sorting_from
from essaim.people import rules
from essaim.people.models import Consent, ImportBatch, Purpose
from essaim.people.services.imports import (
    FIELD_LABELS,
    FIELDS,
    ImportFileError,
    InvalidImportOptions,
    create_batch,
    imports_dir,
    owned_upload,
    queue_batch,
    read_preview,
)
from essaim.people.tasks import run_import


def _require_manager(request: HttpRequest) -> None:
    if not rules.can_manage_base(request.user):
        raise PermissionDenied


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Fichier CSV"),
        help_text=gettext_lazy(
            "Une ligne d'en-tête, puis un contact par ligne ; UTF-8 ou Windows-1252 ; "
            "séparateur virgule, point-virgule ou tabulation."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    basis = forms.ChoiceField(label=gettext_lazy("Base légale"), choices=Consent.Basis.choices)
    purposes = forms.MultipleChoiceField(
        label=gettext_lazy("Finalités consenties"),
        choices=Purpose.choices,
        initial=[Purpose.NEWS],
        widget=forms.CheckboxSelectMultiple,
    )
    source = forms.CharField(
        label=gettext_lazy("Source des adresses"),
        max_length=100,
        help_text=gettext_lazy("Par exemple : « pétition école, mars 2027 »."),
    )
    tags = forms.CharField(
        label=gettext_lazy("Étiquettes ajoutées à chaque contact"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Séparées par des virgules."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("Fichier trop volumineux : %(size)s, le maximum est %(limit)s.")
                % {
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.IMPORT_MAX_BYTES),
                }
            )
        return upload

    def tag_list(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [tag.strip() for tag in raw.split(",") if tag.strip()]


# The list's columns people may sort by (`?tri=`).
IMPORT_SORTS = (
    SortColumn("date", "created_at", descending_first=True),
    SortColumn("fichier", "filename", text=True),
    SortColumn("etat", choice_order("status", ImportBatch.Status.values)),
    SortColumn("importes", "imported", descending_first=True),
    SortColumn("invalides", "invalid", descending_first=True),
)


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    sorting = sorting_from(request, IMPORT_SORTS, "-date")
    page = keyset_page(
        ImportBatch.objects.select_related("created_by"), request, size=50, sorting=sorting
    )
    return render(
        request,
        "people/import_list.html",
        {"page": page, "qs": querystring(request), "sorting": sorting},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            # The file is deleted on any failure, up to the commit of the batch that owns it.
            with owned_upload(upload.chunks()) as path, transaction.atomic():
                batch = create_batch(
                    path=path,
                    filename=upload.name,
                    basis=form.cleaned_data["basis"],
                    purposes=form.cleaned_data["purposes"],
                    source=form.cleaned_data["source"],
                    tags=form.tag_list(),
                    created_by=request.user,
                )
                audit(
                    action="import.upload",
                    request=request,
                    obj=batch,
                    filename=batch.filename,
                    size=batch.size,
                )
        except (ImportFileError, InvalidImportOptions) as exc:
            form.add_error("file" if isinstance(exc, ImportFileError) else None, str(exc))
        else:
            return redirect("people:import_mapping", pk=batch.pk)
    return render(
        request,
        "people/import_upload.html",
        {"form": form, "max_size": settings.IMPORT_MAX_BYTES},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    batch = get_object_or_404(ImportBatch, pk=pk)
    if batch.status != ImportBatch.Status.UPLOADED:
        return redirect("people:import_detail", pk=batch.pk)
    path = Path(batch.path)
    if not path.is_file():
        raise Http404
    header, rows = read_preview(path, batch.encoding, batch.delimiter)
    selected = {index: name for name, index in batch.mapping.items()}
    error = ""
    if request.method == "POST":
        chosen: dict[str, int] = {}
        selected = {}
        for index in range(len(header)):
            name = request.POST.get(f"col_{index}", "")
            if name in FIELDS:
                selected[index] = name
                if name in chosen:
                    error = _("« %(field)s » est choisi pour deux colonnes.") % {
                        "field": FIELD_LABELS[name]
                    }
                chosen[name] = index
        if not error:
            try:
                with transaction.atomic():
                    queue_batch(batch=batch, mapping=chosen)
                    audit(action="import.start", request=request, obj=batch, mapping=chosen)
                    transaction.on_commit(lambda: run_import.enqueue(batch.pk))
            except InvalidImportOptions as exc:
                error = str(exc)
            else:
                return redirect("people:import_detail", pk=batch.pk)
    width = len(header)
    columns = [
        {"index": index, "name": name, "field": selected.get(index, "")}
        for index, name in enumerate(header)
    ]
    preview = [(row + [""] * width)[:width] for row in rows]
    return render(
        request,
        "people/import_mapping.html",
        {
            "batch": batch,
            "columns": columns,
            "preview": preview,
            "field_choices": [(name, FIELD_LABELS[name]) for name in FIELDS],
            "error": error,
        },
        status=400 if error else 200,
    )


def _progress_context(batch: ImportBatch, request: HttpRequest) -> dict[str, Any]:
    finished = batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.FAILED)
    if batch.status == ImportBatch.Status.QUEUED:
        label = _("En attente d'un processus de fond")
    elif batch.total_rows:
        label = _("%(done)s lignes traitées sur %(total)s") % {
            "done": batch.processed_rows,
            "total": batch.total_rows,
        }
    else:
        label = batch.get_status_display()
    return {
        "batch": batch,
        "percent": batch.progress_percent,
        "label": label,
        "done": finished or batch.status == ImportBatch.Status.UPLOADED,
        "poll_url": request.path,
        "has_report": bool(batch.invalid and batch.report_path),
        "has_warnings": bool(batch.warnings and batch.warnings_path),
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)
    context = _progress_context(batch, request)
    if getattr(request, "htmx", False):
        response = render(request, "people/import_detail.html#progress", context)
        if context["done"]:
            # The import ended while the page polled: reload it for the counters and the report.
            response["HX-Refresh"] = "true"
        return response
    return render(request, "people/import_detail.html", context)


def _report_download(request: HttpRequest, pk: int, *, kind: str) -> FileResponse:
    """One of an import's CSV reports, audited: its rejected rows ("invalid") or the values left
    out of imported rows ("warnings")."""
    _require_manager(request)
    batch = get_object_or_404(ImportBatch, pk=pk)
    value = batch.report_path if kind == "invalid" else batch.warnings_path
    path = Path(value) if value else None
    if path is None or not path.resolve().is_relative_to(imports_dir().resolve()):
        raise Http404
    if not path.is_file():
        raise Http404
    if kind == "invalid":
        audit(action="import.report_download", request=request, obj=batch, invalid=batch.invalid)
        name = f"import-{batch.pk}-lignes-invalides.csv"
    else:
        audit(
            action="import.warnings_download", request=request, obj=batch, warnings=batch.warnings
        )
        name = f"import-{batch.pk}-avertissements.csv"
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8"
    )


@login_required
@require_GET
def import_report(request: HttpRequest, pk: int) -> FileResponse:
    return _report_download(request, pk, kind="invalid")


@login_required
@require_GET
def import_warnings(request: HttpRequest, pk: int) -> FileResponse:
    """The values left out of imported rows (line, column, value, reason)."""
    return _report_download(request, pk, kind="warnings")

"""The watch's pages: sources with their health, add by URL, a source's history and items,
OPML import and export (HQ); the tracers' page (submit a link, see what became of one's
submissions, one's record) and the review of submissions (HQ, veilleurs, coordinators).
Thin: parse, authorize, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from essaim.army.models import Volunteer
from essaim.lib.pagination import keyset_page, querystring
from essaim.watch import rules
from essaim.watch.forms import AddSourceForm, OpmlImportForm, ReviewForm, SubmissionForm
from essaim.watch.models import Source, Submission
from essaim.watch.services import notices
from essaim.watch.services import sources as svc
from essaim.watch.services import submissions as subs
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


# --- The tracers ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tracer(request: HttpRequest) -> HttpResponse:
    """Submit a link and get the answer at once; below, one's submissions and record. A
    volunteer without an active tracer's or veilleur's role reads how to become one (the menu
    offers the page to every volunteer: knowing who holds the role would cost a query on every
    page)."""
    volunteer = Volunteer.objects.filter(pk=request.user.pk).first()
    if volunteer is None or not request.user.is_active:
        raise PermissionDenied
    roles = rules.active_watch_roles(request.user)
    if not roles:
        if request.method == "POST":
            raise PermissionDenied
        return render(request, "watch/tracer_role.html", {"roles": rules.watch_roles_of(volunteer)})
    form = SubmissionForm(request.POST or None, request.FILES or None)
    status, retry_after = 200, 0
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                submitted = subs.submit(
                    volunteer=volunteer,
                    url=data["url"],
                    time_code=data["time_code"],
                    note=data["note"],
                    urgency=data["urgency"],
                    screenshot=data["screenshot"],
                )
            except subs.SubmissionRefused as exc:
                form.add_error(exc.field or None, exc.message)
                status = 429 if exc.code == "flood" else 400
                retry_after = exc.retry_after
            else:
                if submitted.created and not submitted.known:
                    messages.success(request, submitted.answer)
                else:
                    messages.info(request, submitted.answer)
                return redirect("watch:tracer")
        else:
            status = 400
    rows = subs.with_feed_first(
        Submission.objects.filter(volunteer=volunteer).select_related("item__story")
    )
    page = keyset_page(rows, request, size=30)
    for row in page.items:
        row.lead = subs.lead_minutes(row.created_at, row.feed_first_at)  # type: ignore[attr-defined]
    # Opening the page reads the notices of the submissions shown.
    decided = [r.pk for r in page.items if not r.is_open]
    if decided:
        notices.read_shown(user_id=volunteer.pk, submission_ids=decided)
    response = render(
        request,
        "watch/tracer.html",
        {
            "form": form,
            "page": page,
            "qs": querystring(request),
            "record": subs.record(volunteer),
            "veilleur": "veilleur" in roles,
        },
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(retry_after)
    return response


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """The submissions this person may review, open ones first (newest first)."""
    if not rules.can_review_submissions(request.user):
        raise PermissionDenied
    state = request.GET.get("etat", "open")
    rows = rules.reviewable(request.user, Submission.objects.select_related("item__story"))
    if state == "open":
        rows = rows.filter(state__in=(Submission.State.NEW, Submission.State.MERGED))
    elif state in (Submission.State.ACCEPTED, Submission.State.REJECTED):
        rows = rows.filter(state=state)
    else:
        state = "open"
    visible = rules.identity_visible(request.user)
    if not isinstance(visible, bool):
        rows = rows.annotate(_identity=visible)  # type: ignore[arg-type]
    page = keyset_page(rows, request, size=30)
    users = _tracer_names([row.volunteer_id for row in page.items])
    for row in page.items:
        shown = visible if isinstance(visible, bool) else getattr(row, "_identity", False)
        row.tracer_name = users.get(row.volunteer_id, "") if shown else ""  # type: ignore[attr-defined]
    return render(
        request,
        "watch/review_queue.html",
        {
            "page": page,
            "qs": querystring(request),
            "state": state,
            "states": [
                ("open", _("À examiner")),
                (Submission.State.ACCEPTED, Submission.State.ACCEPTED.label),
                (Submission.State.REJECTED, Submission.State.REJECTED.label),
            ],
            "sees_stream": rules.can_see_stream(request.user),
        },
    )


def _tracer_names(ids: list[int]) -> dict[int, str]:
    from essaim.accounts.models import User

    rows = User.objects.filter(pk__in=ids).values_list("pk", "full_name", "email")
    return {pk: name or email for pk, name, email in rows}


@login_required
@require_POST
def submission_review(request: HttpRequest, pk: int) -> HttpResponse:
    submission = get_object_or_404(Submission, pk=pk)
    if not rules.can_review(request.user, submission):
        raise Http404
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez de retenir ou d'écarter le signalement."))
        return redirect("watch:review_queue")
    try:
        subs.review(
            submission=submission,
            by=request.user,  # type: ignore[arg-type]
            accept=form.cleaned_data["decision"] == "accept",
            reason=form.cleaned_data["reason"],
        )
    except subs.SubmissionRefused as exc:
        messages.error(request, exc.message)
    else:
        if submission.state == Submission.State.ACCEPTED:
            messages.success(request, _("Signalement retenu : le traceur en est averti."))
        else:
            messages.success(request, _("Signalement écarté : le traceur en connaît la raison."))
    return redirect("watch:review_queue")


@login_required
@require_GET
def submission_screenshot(request: HttpRequest, pk: int) -> FileResponse:
    """A submission's screenshot, to its tracer and to those who may review it only."""
    submission = get_object_or_404(Submission.objects.exclude(screenshot=""), pk=pk)
    if not rules.can_see_submission(request.user, submission):
        raise Http404
    response = FileResponse(submission.screenshot.open("rb"))
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response

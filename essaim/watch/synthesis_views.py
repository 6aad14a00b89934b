"""The daily synthesis: the archive of published ones (with the drafts, for the writers), one
synthesis with its chart of volume per watchlist, a draft's edit and publication (writers),
and each reader's choice to receive them by email."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from essaim.lib.charts import Chart, Series
from essaim.lib.confirm import ask, confirmed
from essaim.watch import rules
from essaim.watch.models import Synthesis, SynthesisSubscription
from essaim.watch.services import synthesis as svc


class SynthesisForm(forms.Form):
    intro = forms.CharField(
        label=gettext_lazy("Introduction"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


def _readable(request: HttpRequest, pk: int) -> Synthesis:
    """A synthesis this user may read: a draft is the writers' only (404 for other readers)."""
    if not rules.can_read_syntheses(request.user):
        raise PermissionDenied
    synthesis = get_object_or_404(Synthesis.objects.select_related("edited_by"), pk=pk)
    if synthesis.state == Synthesis.State.DRAFT and not rules.can_write_syntheses(request.user):
        raise Http404
    return synthesis


@login_required
@require_GET
def synthesis_list(request: HttpRequest) -> HttpResponse:
    if not rules.can_read_syntheses(request.user):
        raise PermissionDenied
    writer = rules.can_write_syntheses(request.user)
    qs = Synthesis.objects.defer("body").order_by("-date")
    if not writer:
        qs = qs.filter(state=Synthesis.State.PUBLISHED)
    return render(
        request,
        "watch/synthesis_list.html",
        {
            "syntheses": list(qs[:100]),
            "writer": writer,
            "subscribed": SynthesisSubscription.objects.filter(
                user_id=request.user.pk or 0
            ).exists(),
        },
    )


def volume_chart(body: dict[str, Any]) -> Chart | None:
    rows = body.get("watchlists") or []
    if not rows:
        return None
    return Chart(
        id="synthesis-volume",
        title=_("Volume par liste de veille"),
        kind="bar",
        labels=[str(r["name"]) for r in rows],
        series=[
            Series(_("Éléments"), [int(r["items"]) for r in rows]),
            Series(_("Sujets"), [int(r["stories"]) for r in rows]),
        ],
        row_header=_("Liste de veille"),
    )


def _context(synthesis: Synthesis) -> dict[str, Any]:
    body = synthesis.body or {}
    stories = {s["id"]: s for s in body.get("stories", [])}
    return {
        "synthesis": synthesis,
        "body": body,
        "stories": list(stories.values()),
        "new": [stories[i] for i in body.get("new", []) if i in stories],
        "growing": [stories[i] for i in body.get("growing", []) if i in stories],
        "chart": volume_chart(body),
    }


@login_required
@require_GET
def synthesis_detail(request: HttpRequest, pk: int) -> HttpResponse:
    synthesis = _readable(request, pk)
    context = _context(synthesis)
    context["writer"] = rules.can_write_syntheses(request.user)
    if context["writer"] and synthesis.state == Synthesis.State.DRAFT:
        question = publish_question(synthesis)
        context["question"] = question | {"id": question["dialog_id"]}
    return render(request, "watch/synthesis_detail.html", context)


@login_required
def synthesis_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not rules.can_write_syntheses(request.user):
        raise PermissionDenied
    synthesis = get_object_or_404(Synthesis, pk=pk)
    if synthesis.state != Synthesis.State.DRAFT:
        messages.error(request, _("Cette synthèse est publiée : elle ne se modifie plus."))
        return redirect("watch:synthesis_detail", pk=synthesis.pk)
    form = SynthesisForm(
        request.POST or None, initial={"intro": synthesis.intro, "notes": synthesis.notes}
    )
    if request.method == "POST" and form.is_valid():
        try:
            svc.edit(
                synthesis_id=synthesis.pk,
                by=request.user,  # type: ignore[arg-type]
                intro=form.cleaned_data["intro"],
                notes=form.cleaned_data["notes"],
                request=request,
            )
        except svc.AlreadyPublished:
            messages.error(request, _("Cette synthèse est publiée : elle ne se modifie plus."))
        else:
            messages.success(request, _("Brouillon de la synthèse enregistré."))
        return redirect("watch:synthesis_detail", pk=synthesis.pk)
    context = _context(synthesis)
    context["form"] = form
    return render(request, "watch/synthesis_edit.html", context)


def publish_question(synthesis: Synthesis) -> dict[str, Any]:
    """The confirmation's words (includes/confirm.html): publishing mails the subscribers."""
    n = SynthesisSubscription.objects.filter(user__is_active=True).count()
    return {
        "dialog_id": "publish-dialog",
        "title": _("Publier la synthèse du %(date)s ?")
        % {"date": formats.date_format(synthesis.date, "j F Y")},
        "text": ngettext(
            "Elle ne se modifiera plus et partira par courriel à %(n)s personne qui l'a demandée.",
            "Elle ne se modifiera plus et partira par courriel aux %(n)s personnes qui l'ont "
            "demandée.",
            n,
        )
        % {"n": n},
        "confirm_label": _("Publier"),
        "action": reverse("watch:synthesis_publish", args=[synthesis.pk]),
        "cancel_url": reverse("watch:synthesis_detail", args=[synthesis.pk]),
    }


@login_required
def synthesis_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publishing asks first (the one confirmation component); only its POST publishes."""
    if not rules.can_write_syntheses(request.user):
        raise PermissionDenied
    synthesis = get_object_or_404(Synthesis, pk=pk)
    if not confirmed(request):
        return ask(
            request,
            eyebrow=_("Synthèses"),
            heading=str(synthesis),
            **publish_question(synthesis),
        )
    try:
        svc.publish(synthesis_id=synthesis.pk, by=request.user, request=request)  # type: ignore[arg-type]
    except svc.AlreadyPublished:
        messages.info(request, _("Cette synthèse était déjà publiée."))
    else:
        messages.success(
            request, _("Synthèse publiée : elle part par courriel à ceux qui l'ont demandée.")
        )
    return redirect("watch:synthesis_detail", pk=synthesis.pk)


@login_required
@require_POST
def synthesis_prepare(request: HttpRequest) -> HttpResponse:
    """Yesterday's draft now (the morning job makes it; a writer need not wait for it): its
    figures made again, its intro and notes kept; a published one is only shown."""
    if not rules.can_write_syntheses(request.user):
        raise PermissionDenied
    synthesis = svc.make_draft()
    return redirect("watch:synthesis_detail", pk=synthesis.pk)


@login_required
@require_POST
def synthesis_subscribe(request: HttpRequest) -> HttpResponse:
    if not rules.can_read_syntheses(request.user):
        raise PermissionDenied
    subscribed = request.POST.get("abonne") == "1"
    svc.set_subscription(user=request.user, subscribed=subscribed)  # type: ignore[arg-type]
    messages.success(
        request,
        _("Vous recevrez chaque synthèse publiée par courriel.")
        if subscribed
        else _("Vous ne recevrez plus les synthèses par courriel."),
    )
    return redirect("watch:synthesis_list")

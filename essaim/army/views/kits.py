"""Running a mission beyond its creation: closing it, and its kit (files, target sites, video
links, embed codes). Thin: parse, authorize (rules/missions.py), call a service, render. A mission
or file the user may not reach is a 404.

Kit files are served by `kit_file` only, never from the media URL: as an attachment, with the
type found at upload (not the name's), nosniff, and a CSP that lets nothing run — so that even
a file a browser could take for HTML or SVG is inert.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from essaim.army.forms.missions import KitForm, UploadForm, split_codes, split_lines
from essaim.army.models import KitFile
from essaim.army.rules import missions as rules
from essaim.army.services import missions as svc
from essaim.army.services.kits import add_kit_file, delete_kit_file
from essaim.army.views.common import post_only, run_mission

# Nothing in a served file may run or load anything; `sandbox` also denies scripts to a
# document a browser would render anyway.
KIT_FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


@login_required
def mission_kit(request: HttpRequest, pk: int) -> HttpResponse:
    """The kit's page for the mission's runners: its lists and its files."""
    mission = run_mission(request, pk)
    kit_form = KitForm(
        request.POST if request.POST.get("action") == "kit" else None,
        initial={
            "target_sites": "\n".join(mission.target_sites),
            "video_links": "\n".join(mission.video_links),
            "embed_codes": "\n---\n".join(mission.embed_codes),
        },
    )
    upload_form = UploadForm(
        request.POST if request.POST.get("action") == "upload" else None,
        request.FILES if request.POST.get("action") == "upload" else None,
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "kit" and kit_form.is_valid():
                data = kit_form.cleaned_data
                svc.update_kit(
                    mission=mission,
                    target_sites=split_lines(data["target_sites"]),
                    video_links=split_lines(data["video_links"]),
                    embed_codes=split_codes(data["embed_codes"]),
                )
                messages.success(request, _("Kit enregistré."))
                return redirect("army:mission_kit", pk=pk)
            if action == "upload" and upload_form.is_valid():
                add_kit_file(
                    mission=mission,
                    upload=upload_form.cleaned_data["file"],
                    by=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, _("Fichier ajouté au kit."))
                return redirect("army:mission_kit", pk=pk)
        except svc.MissionError as refused:
            (kit_form if action == "kit" else upload_form).add_error(None, str(refused.message))
        status = 400
    return render(
        request,
        "army/missions/mission_kit.html",
        {
            "mission": mission,
            "files": list(mission.files.all()),
            "kit_form": kit_form,
            "upload_form": upload_form,
        },
        status=status,
    )


@login_required
@post_only
def kit_file_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(KitFile.objects.select_related("mission"), pk=pk)
    if not rules.can_run_mission(request.user, item.mission):
        raise Http404
    delete_kit_file(item=item)
    messages.success(request, _("Fichier retiré du kit."))
    return redirect("army:mission_kit", pk=item.mission_id)


@login_required
def kit_file(request: HttpRequest, pk: int) -> FileResponse:
    """A kit file, to the mission's runners and the volunteers it is offered to."""
    item = get_object_or_404(KitFile.objects.select_related("mission"), pk=pk)
    if not rules.can_download_kit_file(request.user, item):
        raise Http404
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.name,
        content_type=item.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = KIT_FILE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@post_only
def mission_close(request: HttpRequest, pk: int) -> HttpResponse:
    mission = run_mission(request, pk)
    try:
        closing = svc.close_mission(mission=mission)
    except svc.MissionError as refused:
        messages.error(request, str(refused.message))
        return redirect("army:missions_run")
    # Whole sentences, one message each, so that each translates as a whole; a count of zero
    # says nothing worth a line.
    messages.success(request, _("Mission close : plus personne ne peut la prendre."))
    if closing.released:
        messages.info(
            request,
            ngettext(
                "%(n)d volontaire qui n'avait pas encore envoyé de preuve a été libéré de la "
                "mission et prévenu.",
                "%(n)d volontaires qui n'avaient pas encore envoyé de preuve ont été libérés de "
                "la mission et prévenus.",
                closing.released,
            )
            % {"n": closing.released},
        )
    if closing.awaiting_review:
        messages.info(
            request,
            ngettext(
                "%(n)d preuve reste à relire et comptera si vous l'acceptez.",
                "%(n)d preuves restent à relire et compteront si vous les acceptez.",
                closing.awaiting_review,
            )
            % {"n": closing.awaiting_review},
        )
    return redirect("army:missions_run")

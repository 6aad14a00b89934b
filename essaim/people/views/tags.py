"""Tags page (HQ): the tags with their number of contacts; create, rename, delete."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from essaim.accounts.services import audit
from essaim.accounts.services.vocabulary import number
from essaim.lib.confirm import ask, confirmed
from essaim.people import rules
from essaim.people.models import Tag
from essaim.people.services.segments import SegmentInUse
from essaim.people.services.tags import (
    TagNameError,
    create_tag,
    delete_tag,
    rename_tag,
    tagged_count,
)


def _require_manager(request: HttpRequest) -> None:
    if not rules.can_manage_base(request.user):
        raise PermissionDenied


def _name_error(exc: TagNameError) -> str:
    if str(exc) == "taken":
        return _("Une étiquette porte déjà ce nom.")
    return _("Donnez un nom à l'étiquette.")


@login_required
@require_http_methods(["GET", "POST"])
def tag_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    if request.method == "POST":
        try:
            tag = create_tag(name=request.POST.get("name", ""))
        except TagNameError as exc:
            messages.error(request, _name_error(exc))
        else:
            messages.success(request, _("Étiquette « %s » créée.") % tag.name)
        return redirect("people:tag_list")
    tags = Tag.objects.annotate(contact_count=Count("contacttag")).order_by("name")
    return render(request, "people/tag_list.html", {"tags": tags})


@login_required
@require_POST
def tag_rename(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    tag = get_object_or_404(Tag, pk=pk)
    old = tag.name
    try:
        rename_tag(tag=tag, name=request.POST.get("name", ""))
    except TagNameError as exc:
        messages.error(request, _name_error(exc))
    else:
        if tag.name != old:
            messages.success(
                request,
                _("Étiquette « %(old)s » renommée en « %(new)s ».") % {"old": old, "new": tag.name},
            )
    return redirect("people:tag_list")


@login_required
@require_http_methods(["GET", "POST"])
def tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    tag = get_object_or_404(Tag, pk=pk)
    if not confirmed(request):
        tagged = tagged_count(tag)
        return ask(
            request,
            dialog_id="delete-dialog",
            title=ngettext(
                "Supprimer « %(name)s », posée sur %(n)s contact ?",
                "Supprimer « %(name)s », posée sur %(n)s contacts ?",
                tagged,
            )
            % {"name": tag.name, "n": number(tagged)},
            text=_(
                "L'étiquette sera retirée de ces contacts ; les contacts eux-mêmes restent. "
                "C'est irréversible."
            ),
            confirm_label=_("Supprimer"),
            tone="danger",
            action=reverse("people:tag_delete", args=[tag.pk]),
            cancel_url=reverse("people:tag_list"),
            eyebrow=_("Supprimer l'étiquette"),
            heading=tag.name,
        )
    name, tag_id = tag.name, tag.pk
    try:
        untagged = delete_tag(tag=tag)
    except SegmentInUse as exc:
        messages.error(
            request,
            _("« %(name)s » sert dans les segments %(users)s ; retirez-la d'abord.")
            % {"name": name, "users": ", ".join(s.name for s in exc.segments)},
        )
    else:
        # Removing a tag from many contacts at once changes segments and exports: logged.
        audit(
            action="tag.delete",
            request=request,
            object_type="people.tag",
            object_id=tag_id,
            name=name,
            contacts=untagged,
        )
        messages.success(
            request,
            ngettext(
                "Étiquette « %(name)s » supprimée (%(count)s contact l'avait).",
                "Étiquette « %(name)s » supprimée (%(count)s contacts l'avaient).",
                untagged,
            )
            % {"name": name, "count": number(untagged)},
        )
    return redirect("people:tag_list")

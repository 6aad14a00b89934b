"""The contact list's bulk actions (HQ): the rows ticked, or every result of the search or segment,
tagged, untagged, added to a list segment, exported or erased. Each is one set-based service call
(essaim.people.services.bulk, .export, .gdpr) and one audit entry.

Erasing asks first, saying how many people it will erase: the page's script shows the question
as a dialog (htmx fetches it), and without the script the same question is a page. The answer
carries the count it was shown; if the selection has changed since, the question comes again.
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from essaim.accounts.services import audit
from essaim.accounts.services.vocabulary import number
from essaim.lib.numbers import ascii_int
from essaim.people import rules
from essaim.people.forms import BulkActionForm
from essaim.people.models import Contact, Segment, Tag
from essaim.people.services.bulk import (
    SegmentNameTaken,
    Selection,
    SelectionError,
    add_to_segment,
    create_list_segment,
    ensure_tags,
    list_segments,
    selection_queryset,
    tag_selection,
    untag_selection,
)
from essaim.people.services.contact_search import SearchRefused
from essaim.people.services.export import DELIMITER, stream_csv
from essaim.people.services.gdpr import erase_contacts
from essaim.people.tasks import erase_selection

# Beyond this many people an erasure runs in the worker (a chunk of ids at a time); below, in
# the request, so that the list shown next no longer has them.
ERASE_INLINE_MAX: Final = 5_000


def _back(selection: Selection) -> str:
    params = {"q": selection.query, "segment": selection.segment_id}
    query = urlencode({k: v for k, v in params.items() if v})
    url = reverse("people:contact_list")
    return f"{url}?{query}" if query else url


@login_required
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    if not (rules.can_manage_base(user) and rules.can_export(user)):
        raise PermissionDenied
    segments = list(Segment.objects.only("pk", "name", "definition"))
    form = BulkActionForm(request.POST, list_segments=list_segments(segments))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        raw_segment = request.POST.get("segment", "")
        raw = Selection(
            query=request.POST.get("q", "")[:200],
            segment_id=ascii_int(raw_segment),
        )
        return redirect(_back(raw))
    selection = form.selection()
    back = _back(selection)
    try:
        contacts = selection_queryset(selection, user=user, request=request)
    except (SelectionError, SearchRefused):
        messages.error(request, _("Cette sélection ne peut plus être calculée."))
        return redirect(reverse("people:contact_list"))
    criteria = selection.criteria()
    action = form.cleaned_data["action"]
    if action == "export":
        return _export(request, contacts, selection)
    if action == "erase":
        return _erase(request, form, contacts, selection)
    if action in ("tag", "untag"):
        tags = ensure_tags(form.cleaned_data["tags"]) if action == "tag" else _existing(form)
        if action == "tag":
            result = tag_selection(contacts, tags, request=request, criteria=criteria)
            text = ngettext(
                "%(count)s contact étiqueté « %(tags)s ».",
                "%(count)s contacts étiquetés « %(tags)s ».",
                result.count,
            )
        else:
            result = untag_selection(contacts, tags, request=request, criteria=criteria)
            text = ngettext(
                "« %(tags)s » retiré de %(count)s contact sélectionné.",
                "« %(tags)s » retiré de %(count)s contacts sélectionnés.",
                result.count,
            )
        names = ", ".join(form.cleaned_data["tags"])
        messages.success(request, text % {"count": number(result.count), "tags": names})
        return redirect(back)
    # add_to_segment
    target = _target_segment(request, form, segments)
    if target is None:
        return redirect(back)
    result = add_to_segment(contacts, target, request=request, criteria=criteria)
    messages.success(
        request,
        ngettext(
            "%(count)s contact sélectionné ajouté au segment « %(name)s », qui en compte "
            "maintenant %(total)s.",
            "%(count)s contacts sélectionnés ajoutés au segment « %(name)s », qui en compte "
            "maintenant %(total)s.",
            result.count,
        )
        % {
            "count": number(result.count),
            "name": target.name,
            "total": number(target.last_count or 0),
        },
    )
    return redirect(back)


def _existing(form: BulkActionForm) -> list[Tag]:
    return list(Tag.objects.filter(name__in=form.cleaned_data["tags"]).order_by("name"))


def _target_segment(
    request: HttpRequest, form: BulkActionForm, segments: list[Segment]
) -> Segment | None:
    target = form.cleaned_data["target_segment"]
    if target is not None:
        return next(s for s in segments if s.pk == target)
    try:
        segment = create_list_segment(name=form.cleaned_data["new_segment"], user=request.user)
    except SegmentNameTaken:
        messages.error(request, _("Un segment porte déjà ce nom."))
        return None
    audit(action="segment.create", request=request, obj=segment, name=segment.name, list=True)
    return segment


def _resent(selection: Selection, count: int) -> list[tuple[str, Any]]:
    """The hidden fields of the erasure's confirmation: the same selection, and the count the
    person is shown."""
    fields: list[tuple[str, Any]] = [
        ("action", "erase"),
        ("scope", "all" if selection.everything else "selected"),
    ]
    if selection.query:
        fields.append(("q", selection.query))
    if selection.segment_id is not None:
        fields.append(("segment", selection.segment_id))
    fields += [("ids", pk) for pk in selection.ids or ()]
    fields.append(("confirm", count))
    return fields


def _export(
    request: HttpRequest, contacts: QuerySet[Contact], selection: Selection
) -> StreamingHttpResponse:
    # As the export page does (essaim.people.views.export): counted and logged before the
    # download starts, so that a cut download is still on record.
    count = contacts.count()
    if not selection.everything:
        scope = "selected"
    elif selection.query:
        scope = "search"
    else:
        scope = "segment" if selection.segment_id else "base"
    audit(
        action="segment.export",
        request=request,
        object_type="people.contact",
        count=count,
        format=f"csv utf-8-sig delimiter={DELIMITER}",
        **selection.criteria() | {"scope": scope},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(stream_csv(contacts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="essaim-selection-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _erase(
    request: HttpRequest,
    form: BulkActionForm,
    contacts: QuerySet[Contact],
    selection: Selection,
) -> HttpResponse:
    count = contacts.count()
    back = _back(selection)
    if count == 0:
        messages.info(request, _("Aucun contact à effacer dans cette sélection."))
        return redirect(back)
    confirmed = form.cleaned_data.get("confirm")
    if confirmed != count:
        context: dict[str, Any] = {
            "count": count,
            "changed": confirmed is not None,
            "back": back,
            "fields": _resent(selection, count),
        }
        if getattr(request, "htmx", False):
            return render(request, "people/contact_bulk_erase.html#dialog", context)
        return render(request, "people/contact_bulk_erase.html", context)
    criteria = selection.criteria()
    if count > ERASE_INLINE_MAX:
        with transaction.atomic():
            audit(
                action="contacts.erase",
                request=request,
                object_type="people.contact",
                count=count,
                queued=True,
                **criteria,
            )
            user_id = int(request.user.pk or 0)
            transaction.on_commit(lambda: erase_selection.enqueue(criteria, user_id))
        messages.info(
            request,
            ngettext(
                "L'effacement de %(count)s contact a commencé ; il se poursuit en arrière-plan.",
                "L'effacement de %(count)s contacts a commencé ; il se poursuit en arrière-plan.",
                count,
            )
            % {"count": number(count)},
        )
        return redirect(back)
    erased = erase_contacts(contacts, request=request, **criteria)
    messages.success(
        request,
        ngettext(
            "%(count)s contact effacé ; son adresse ne sera plus jamais contactée.",
            "%(count)s contacts effacés ; leurs adresses ne seront plus jamais contactées.",
            erased,
        )
        % {"count": number(erased)},
    )
    return redirect(back)

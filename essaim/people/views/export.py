"""Export a segment, or the whole base, as a streamed CSV file (HQ only, every export logged).

The format is described in essaim.people.services.export.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from essaim.accounts.services import audit
from essaim.lib.numbers import is_ascii_digits
from essaim.people import rules
from essaim.people.models import Contact, Segment
from essaim.people.services.export import DELIMITER, stream_csv
from essaim.people.services.segments import SegmentDefinitionError, saved_segment_queryset


@login_required
@require_POST  # a logged act: never on a plain link a crawler or a prefetch could follow
def export_contacts(request: HttpRequest) -> HttpResponseBase:
    if not rules.can_export(request.user):
        raise PermissionDenied
    raw = request.POST.get("segment", "")
    segment: Segment | None = None
    if raw:
        if not is_ascii_digits(raw):
            raise Http404
        segment = get_object_or_404(Segment, pk=int(raw))
        try:
            contacts = saved_segment_queryset(segment)
        except SegmentDefinitionError as exc:
            messages.error(request, str(exc))
            return redirect("people:segment_list")
    else:
        contacts = Contact.objects.all()
    # Counted before streaming so that the audit entry exists even if the download is cut;
    # contacts added during a long download may make the file a few lines longer.
    count = contacts.count()
    audit(
        action="segment.export",
        request=request,
        obj=segment,
        object_type="people.segment",
        count=count,
        scope="segment" if segment else "base",
        segment=segment.name if segment else None,
        format=f"csv utf-8-sig delimiter={DELIMITER}",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = (slugify(segment.name) or f"segment-{segment.pk}") if segment else "base"
    response = StreamingHttpResponse(stream_csv(contacts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="essaim-{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response

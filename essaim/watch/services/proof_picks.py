"""A `trace` mission proved by one of the volunteer's submissions (essaim.army.services.
proof_picks): the proof carries the submission's link, and the submission knows its proof."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from essaim.army.services.proof_picks import Pick, Picker
from essaim.lib.numbers import ascii_int
from essaim.watch.models import Submission

OFFERED = 50  # the newest submissions offered in the form


def _pick(row: Submission) -> Pick:
    title = row.item.title or row.url
    label = f"{title} ({row.time_code_text})" if row.time_code is not None else title
    return Pick(key=str(row.pk), label=label[:200], url=row.url)


def choices(volunteer_id: int) -> list[Pick]:
    rows = (
        Submission.objects.filter(volunteer_id=volunteer_id)
        .exclude(state=Submission.State.REJECTED)
        .select_related("item")
        .order_by("-id")[:OFFERED]
    )
    return [_pick(row) for row in rows]


def find(volunteer_id: int, key: str) -> Pick | None:
    if (pk := ascii_int(key)) is None:
        return None
    row = (
        Submission.objects.filter(volunteer_id=volunteer_id, pk=pk)
        .exclude(state=Submission.State.REJECTED)
        .select_related("item")
        .first()
    )
    return _pick(row) if row is not None else None


def attach(proof_id: int, key: str) -> int:
    return Submission.objects.filter(pk=int(key)).update(proof_id=proof_id)


PICKER = Picker(
    label=_("Un de mes signalements"),
    choices=choices,
    find=find,
    attach=attach,
)

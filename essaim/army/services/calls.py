"""Calls for volunteers: creation (a landing page and a campaign through the campaign engine)
and the funnel over time.

The campaign is an ordinary one (essaim.mailing: composer, approval, ledger, sender, results);
the call only adds the `{{ call_url }}` slot to its mail (essaim.army.services.call_links).

The funnel, per call: reached (ledger rows accepted by the relay), page visited (contacts who
opened the landing page from their link), signed up (volunteers confirmed from this call), first
mission accepted (those of them with an accepted claim). Each step is one GROUP BY per hour in
SQL, whatever the audience (a call may reach a million people); Python only sees the buckets
(a few hundred at most), which it sums into days when the call runs longer than three days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.accounts.services import audit
from essaim.army.models import Call, CallEvent, Claim, Volunteer, VolunteerRole
from essaim.lib.charts import Chart, Series
from essaim.lib.timeseries import HourStart, epoch_hour, hour_start
from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.services.campaigns import CampaignRefused, estimate_audience, save_draft
from essaim.people.models import Contact, Purpose, Segment

CALL_LINK_SLOT: Final = "call_url"
STEPS: Final = ("reached", "visited", "signed_up", "first_mission")
STEP_LABELS: Final = {
    "reached": gettext_lazy("Atteints"),
    "visited": gettext_lazy("Page visitée"),
    "signed_up": gettext_lazy("Inscrits"),
    "first_mission": gettext_lazy("Première mission acceptée"),
}
HOURLY_SPAN: Final = 72  # hours: a longer funnel is shown per day


class EmptyAudience(CampaignRefused):
    code = "empty_audience"


def default_mail_body() -> str:
    return _(
        'Bonjour {{ first_name|default:"ami·e" }},\n\n'
        "La campagne a besoin de volontaires. Quelques heures par semaine, depuis chez vous, "
        "sous votre propre nom : c'est vous qui choisissez.\n\n"
        "[Je réponds à l'appel]({{ call_url }})\n"
    )


def create_call(
    *,
    user: Any,
    title: str,
    text_markdown: str,
    roles: list[VolunteerRole] | QuerySet[VolunteerRole],
    segment: Segment,
    subject: str,
    body_markdown: str,
    from_address: str,
    purpose: str = Purpose.MOBILIZATION,
    request: Any = None,
) -> Call:
    """The landing page and its campaign (a draft, launched from the campaign's page), in one
    transaction. The mail gets a link to the page if its text has none.

    Raises InvalidCampaign (the composer's refusals) and EmptyAudience (nobody in the segment
    may be mailed for `purpose`): nothing is written then."""
    body = body_markdown.rstrip()
    if "call_url" not in body:
        body += "\n\n[" + _("Je réponds à l'appel") + "]({{ call_url }})"
    with transaction.atomic():
        campaign = save_draft(
            user=user,
            name=_("Appel : %(title)s") % {"title": title},
            from_address=from_address,
            subject=subject,
            body_markdown=body + "\n",
            segment=segment,
            purpose=purpose,
            links=frozenset({CALL_LINK_SLOT}),
        )
        if estimate_audience(campaign) == 0:
            raise EmptyAudience(
                _("Personne dans ce segment ne peut recevoir ce message (consentement « %(p)s »).")
                % {"p": Purpose(purpose).label}
            )
        call = Call.objects.create(
            title=title,
            text_markdown=text_markdown,
            campaign=campaign,
            created_by=user if getattr(user, "pk", None) else None,
        )
        call.roles.set(list(roles))
        audit(
            action="call.create",
            actor=user if getattr(user, "pk", None) else None,
            request=request,
            obj=call,
            campaign=campaign.pk,
            segment=segment.pk,
        )
    return call


def record_visit(call: Call, contact: Contact) -> None:
    """The contact opened the page from their link; a refresh changes nothing."""
    CallEvent.objects.bulk_create(
        [CallEvent(call=call, contact=contact, kind=CallEvent.Kind.VISIT)], ignore_conflicts=True
    )


def record_signup(call: Call, contact: Contact) -> None:
    """The contact became a volunteer from this call (at the confirmation)."""
    CallEvent.objects.bulk_create(
        [CallEvent(call=call, contact=contact, kind=CallEvent.Kind.SIGNUP)], ignore_conflicts=True
    )


# --- The funnel -----------------------------------------------------------------------------


def _per_hour(queryset: QuerySet[Any], column: str) -> dict[int, int]:
    rows = (
        queryset.order_by()
        .annotate(_hour=HourStart(F(column)))
        .values("_hour")
        .annotate(_n=Count("*"))
        .values_list("_hour", "_n")
    )
    return {epoch_hour(hour): int(n) for hour, n in rows if hour is not None}


def _hourly_steps(call: Call) -> dict[str, dict[int, int]]:
    events = CallEvent.objects.filter(call=call)
    signed_up = events.filter(kind=CallEvent.Kind.SIGNUP)
    first_accept = (
        Claim.objects.filter(volunteer=OuterRef("pk"), status=Claim.Status.ACCEPTED)
        .order_by("reviewed_at")
        .values("reviewed_at")[:1]
    )
    volunteers = (
        Volunteer.objects.filter(contact__in=signed_up.values("contact"))
        .annotate(first_accept=Subquery(first_accept))
        .filter(first_accept__isnull=False)
    )
    return {
        "reached": _per_hour(
            Delivery.objects.filter(campaign_id=call.campaign_id, status=Delivery.Status.ACCEPTED),
            "last_change_at",
        ),
        "visited": _per_hour(events.filter(kind=CallEvent.Kind.VISIT), "at"),
        "signed_up": _per_hour(signed_up, "at"),
        "first_mission": _per_hour(volunteers, "first_accept"),
    }


@dataclass(frozen=True)
class Bucket:
    start: dt.datetime  # local time
    counts: dict[str, int]  # new in this bucket, per step
    totals: dict[str, int]  # cumulated since the start, per step


@dataclass(frozen=True)
class Funnel:
    audience: int | None  # rows frozen into the ledger at launch (None before)
    unit: str  # "hour" or "day"
    buckets: list[Bucket]
    totals: dict[str, int] = field(default_factory=dict)


def call_funnel(call: Call, *, now: dt.datetime | None = None) -> Funnel:
    """The call's funnel per hour (per day beyond HOURLY_SPAN hours), from its first step to
    now (or its last step, whichever is later); empty hours included, so a curve is a curve."""
    hourly = _hourly_steps(call)
    campaign: Campaign = call.campaign
    hours = [h for step in hourly.values() for h in step]
    zero = dict.fromkeys(STEPS, 0)
    totals = {step: sum(hourly[step].values()) for step in STEPS}
    if not hours:
        return Funnel(campaign.audience_count, "hour", [], totals)
    now_hour = int((now or timezone.now()).timestamp()) // 3600
    first, last = min(hours), max(max(hours), min(now_hour, max(hours) + 24 * 366))
    unit = "hour" if last - first < HOURLY_SPAN else "day"
    grouped: dict[dt.datetime, dict[str, int]] = {}
    for hour in range(first, last + 1):
        start = hour_start(hour)
        if unit == "day":
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        counts = grouped.setdefault(start, dict(zero))
        for step in STEPS:
            counts[step] += hourly[step].get(hour, 0)
    buckets: list[Bucket] = []
    running = dict(zero)
    for start, counts in grouped.items():
        running = {step: running[step] + counts[step] for step in STEPS}
        buckets.append(Bucket(start, counts, running))
    return Funnel(campaign.audience_count, unit, buckets, totals)


# --- The chart (Chart.js, through includes/chart.html) ----------------------------------------


def funnel_chart(call: Call, funnel: Funnel) -> Chart | None:
    """The cumulated steps over time, one line each (the reached line sets the scale, as in
    "12,000 of 220,000 in three days"); None when nobody was reached yet. A funnel that fits in
    one hour or one day is drawn from nothing at its start to its totals at its end: a line,
    where a single point would hardly show."""
    if not funnel.buckets:
        return None
    hourly = funnel.unit == "hour"
    when = "d/m H\\h" if hourly else "d/m"
    starts = [b.start for b in funnel.buckets]
    values = {step: [b.totals[step] for b in funnel.buckets] for step in STEPS}
    if len(starts) == 1:
        starts.append(starts[0] + (dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)))
        values = {step: [0, *totals] for step, totals in values.items()}
    return Chart(
        id="call-funnel",
        title=_("Réponses cumulées à l'appel « %(title)s »") % {"title": call.title},
        kind="line",
        labels=[formats.date_format(start, when) for start in starts],
        series=[Series(str(STEP_LABELS[step]), values[step]) for step in STEPS],
        row_header=_("Début"),
    )

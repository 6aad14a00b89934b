"""`essaim campaign create|launch|pause|resume|cancel|status|requeue-unknown`: campaigns for
operators and scripts.

Output is made for scripts: `create` prints the id alone, `status` one JSON object. Refusals
(approval, blackout, state) exit with a CommandError and change nothing. `requeue-unknown`
lists the unknown deliveries with why, and re-queues them only as an HQ user (`--as`) who
confirms, at the prompt or with `--yes`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from essaim.lib.numbers import ascii_int
from essaim.mailing.models import Campaign
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services import unknowns
from essaim.mailing.services.progress import delivery_counts
from essaim.people.models import Segment


def _campaign(pk: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=pk).first()
    if campaign is None:
        raise CommandError(f"No campaign with id {pk}.")
    return campaign


def _segment(value: str) -> Segment:
    pk = ascii_int(value)
    lookup = Q(name=value) | (Q(pk=pk) if pk is not None else Q())
    found = list(Segment.objects.filter(lookup)[:2])
    if len(found) != 1:
        raise CommandError(f"No single segment named or numbered {value!r}.")
    return found[0]


def _user(email: str) -> Any:
    user = get_user_model().objects.filter(email__iexact=email).first()
    if user is None:
        raise CommandError(f"No user with the address {email}.")
    return user


def status_payload(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "audience": campaign.audience_count,
        "counts": delivery_counts(campaign),
    }


class Command(BaseCommand):
    help = "Create, launch, pause, resume, cancel mass-mailing campaigns and read their counts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a draft; prints its id")
        create.add_argument("--segment", required=True, help="segment name or id, or 'all'")
        create.add_argument("--exclude", action="append", default=[], help="segment to leave out")
        create.add_argument("--subject", required=True)
        create.add_argument("--body-file", required=True, type=Path, help="Markdown, UTF-8")
        create.add_argument("--from", dest="from_address", help="a configured sender identity")
        create.add_argument("--name", default="")
        create.add_argument("--preheader", default="")
        create.add_argument("--reply-to", default="")
        launch = sub.add_parser("launch", help="freeze the audience and start sending")
        launch.add_argument("id", type=int)
        launch.add_argument(
            "--approve-as", metavar="EMAIL", help="approve first as this HQ user (not the author)"
        )
        for name in ("pause", "resume", "cancel", "status"):
            sub.add_parser(name).add_argument("id", type=int)
        requeue = sub.add_parser(
            "requeue-unknown",
            help="re-queue deliveries whose fate is unknown, after checking they did not leave",
        )
        requeue.add_argument("id", type=int)
        requeue.add_argument("--as", dest="as_user", required=True, metavar="EMAIL", help="HQ user")
        which = requeue.add_mutually_exclusive_group(required=True)
        which.add_argument("--ids", help="delivery ids, comma-separated")
        which.add_argument("--all", action="store_true", help="every unknown delivery")
        requeue.add_argument(
            "--yes", action="store_true", help="confirm that you checked (no prompt)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "create":
                self._create(options)
                return
            campaign = _campaign(options["id"])
            if action == "requeue-unknown":
                self._requeue(campaign, options)
                return
            if action == "launch":
                if options["approve_as"]:
                    svc.approve_campaign(campaign, user=_user(options["approve_as"]))
                count = svc.launch_campaign(campaign)
                self.stdout.write(json.dumps(status_payload(campaign) | {"audience": count}))
            elif action == "pause":
                svc.pause_campaign(campaign)
            elif action == "resume":
                svc.resume_campaign(campaign)
            elif action == "cancel":
                svc.cancel_campaign(campaign)
            if action != "launch":
                campaign.refresh_from_db()
                self.stdout.write(json.dumps(status_payload(campaign)))
        except svc.CampaignRefused as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        except svc.CampaignStateError as exc:
            raise CommandError(f"state: {exc}") from exc

    def _create(self, options: dict[str, Any]) -> None:
        try:
            body = options["body_file"].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {options['body_file']}: {exc}") from exc
        identities = svc.from_identities()
        if not identities and not options["from_address"]:
            raise CommandError("No sender identity configured (MAILING_FROM_ADDRESSES).")
        everyone = options["segment"] == "all"
        campaign = svc.save_draft(
            user=None,
            name=options["name"],
            from_address=options["from_address"] or identities[0][1],
            reply_to=options["reply_to"],
            subject=options["subject"],
            preheader=options["preheader"],
            body_markdown=body,
            audience_all=everyone,
            segment=None if everyone else _segment(options["segment"]),
            exclude_segments=[_segment(s) for s in options["exclude"]],
        )
        self.stdout.write(str(campaign.pk))

    def _requeue(self, campaign: Campaign, options: dict[str, Any]) -> None:
        user = _user(options["as_user"])
        ids: list[int] | None = None
        if not options["all"]:
            parts = [p.strip() for p in options["ids"].split(",") if p.strip()]
            ids = [n for p in parts if (n := ascii_int(p)) is not None]
            if not parts or len(ids) != len(parts):
                raise CommandError("--ids takes delivery ids separated by commas.")
        found = unknowns.list_unknown(campaign)
        for key, n in found.by_reason.items():
            if n:
                self.stderr.write(f"{n} unknown: {unknowns.REASONS[key]}")
        confirmed = options["yes"]
        if not confirmed:
            if not sys.stdin.isatty():
                raise CommandError("Confirm with --yes once you checked that they did not leave.")
            wanted = found.total if ids is None else len(ids)
            answer = input(f"Re-queue {wanted} deliveries of campaign {campaign.pk}? [y/N] ")
            confirmed = answer.strip().lower() in {"y", "yes", "o", "oui"}
            if not confirmed:
                raise CommandError("Nothing re-queued.")
        count = unknowns.requeue_unknown(campaign, user=user, ids=ids, confirmed=confirmed)
        campaign.refresh_from_db()
        self.stdout.write(json.dumps(status_payload(campaign) | {"requeued": count}))

"""Background jobs of the watch. Tasks take plain values or ids and call one service."""

from __future__ import annotations

from django.tasks import task


@task
def backfill_watchlist(watchlist_id: int) -> int:
    """Match a new or edited watchlist over the recent items."""
    from essaim.watch.services.watchlists import backfill

    return backfill(watchlist_id)


@task
def fetch_submission(submission_id: int) -> str:
    """Read the page a tracer submitted, through the guarded fetcher (out of the request: the
    tracer's answer does not wait for a slow site)."""
    from essaim.watch.services.submissions import fetch_submission as fetch

    return fetch(submission_id)


@task
def mail_synthesis(synthesis_id: int) -> int:
    """Mail a published synthesis to those who asked for it (once each)."""
    from essaim.watch.services.synthesis import mail_synthesis as mail

    return mail(synthesis_id=synthesis_id)


@task
def mail_alert(alert_id: int) -> int:
    """Mail an alert to those who chose it by email (once each), over one connection."""
    from essaim.watch.services.alerts import mail_alert as mail

    return mail(alert_id=alert_id)


@task
def deliver_webhook(delivery_id: int) -> bool:
    """Try an alert's delivery to a webhook (retried later by the schedule on failure)."""
    from essaim.watch.services.webhooks import attempt

    return attempt(delivery_id)

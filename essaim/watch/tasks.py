"""Background jobs of the watch. Tasks take plain values or ids and call one service."""

from __future__ import annotations

from django.tasks import task


@task
def backfill_watchlist(watchlist_id: int) -> int:
    """Match a new or edited watchlist over the recent items."""
    from essaim.watch.services.watchlists import backfill

    return backfill(watchlist_id)


@task
def deliver_webhook(delivery_id: int) -> bool:
    """Try an alert's delivery to a webhook (retried later by the schedule on failure)."""
    from essaim.watch.services.webhooks import attempt

    return attempt(delivery_id)

"""Background jobs of the watch. Tasks take plain values or ids and call one service."""

from __future__ import annotations

from django.tasks import task


@task
def backfill_watchlist(watchlist_id: int) -> int:
    """Match a new or edited watchlist over the recent items."""
    from essaim.watch.services.watchlists import backfill

    return backfill(watchlist_id)


@task
def mail_synthesis(synthesis_id: int) -> int:
    """Mail a published synthesis to those who asked for it (once each)."""
    from essaim.watch.services.synthesis import mail_synthesis as mail

    return mail(synthesis_id=synthesis_id)

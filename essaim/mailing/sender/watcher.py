"""The sender's watcher: what may be sent at this moment.

It follows the campaigns (a pause or a cancel is honoured within `poll_interval`), the blackout
windows (a zone window keeps its départements out of the claims, a national one stops the
sending) and the suppressions and withdrawn consents: polled every `suppression_poll`, and on
PostgreSQL heard at their commit through LISTEN (see essaim.people.services.suppression.announce),
the poll being then a safety net. The engine reads its state on the hot path; what it stops
the engine settles, through the `purge` callback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from essaim.lib.postgres import Listener, conninfo
from essaim.mailing.models import Campaign
from essaim.mailing.sender import ledger
from essaim.mailing.sender.blackouts import BlackoutScope, blackout_scope
from essaim.people.services.suppression import UNSUBSCRIBE_CHANNEL

if TYPE_CHECKING:
    from essaim.mailing.message import CompiledMessage

log = logging.getLogger("essaim.mailing.sender")
SENDING = Campaign.Status.SENDING

# Runs a function in the sender's database thread (Sender.db).
DbCall = Callable[..., Awaitable[Any]]
RowTest = Callable[[ledger.Claimed], bool]


@dataclass
class CampaignState:
    status: str
    purpose: str
    message: CompiledMessage | None = None


class Watcher:
    def __init__(
        self,
        sender_id: str,
        *,
        db: DbCall,
        compile_message: Callable[[int], Awaitable[CompiledMessage]],
        purge: Callable[[RowTest], None],
        wake: Callable[[], None],
        stopping: Callable[[], bool],
        poll_interval: float,
        suppression_poll: float,
        campaign_ids: frozenset[int] | None,
    ) -> None:
        self.id = sender_id
        # The engine's side: its database thread, the message of a campaign that starts, the
        # rows it holds that must not go (settled by what stopped them), its claimer's wake-up.
        self._db = db
        self._compile_message = compile_message
        self._purge = purge
        self._wake = wake
        self._stopping = stopping
        self._poll_interval = poll_interval
        self._suppression_poll = suppression_poll
        self._campaign_ids = campaign_ids
        # Read by the engine for every message.
        self.campaigns: dict[int, CampaignState] = {}
        self.blackout = BlackoutScope()
        self.blocked: frozenset[str] = frozenset()  # départements held back by a blackout
        self.suppressed: set[str] = set()
        self.withdrawn: set[tuple[str, str]] = set()  # (email hash, purpose) heard by LISTEN
        self.notified = 0  # unsubscribes heard through LISTEN
        self._listener = Listener(
            [UNSUBSCRIBE_CHANNEL],
            self._heard,
            on_listen=self.refresh_suppressions,  # what was committed before LISTEN
            logger=log,
            failure=f"sender {sender_id}: LISTEN failed; polling until it is back",
        )
        self._suppression_cursor = 0

    async def start(self) -> None:
        """Before the first claim: the suppressions from now on, the windows open now."""
        self._suppression_cursor = await self._db(ledger.last_suppression_id)
        await self.refresh_blackout()

    def unsubscribed(self, row: ledger.Claimed) -> bool:
        if row.email_hash in self.suppressed:
            return True
        if not self.withdrawn:
            return False
        state = self.campaigns.get(row.campaign_id)
        return state is not None and (row.email_hash, state.purpose) in self.withdrawn

    # --- campaigns ----------------------------------------------------------------------------

    async def refresh_campaigns(self) -> None:
        statuses = await self._db(ledger.campaign_statuses, list(self.campaigns))
        if self._campaign_ids is not None:
            statuses = {k: v for k, v in statuses.items() if k in self._campaign_ids}
        for cid, (status, purpose) in statuses.items():
            state = self.campaigns.get(cid)
            if state is None:
                state = self.campaigns[cid] = CampaignState(status, purpose)
            if status == SENDING and state.message is None:
                state.message = await self._compile_message(cid)
            if state.status == SENDING and status != SENDING:
                log.info("sender %s: campaign %s is now %s", self.id, cid, status)
            state.status = status
            if status != SENDING:
                self._purge(_of_campaign(cid))
        for cid in set(self.campaigns) - set(statuses):
            self.campaigns[cid].status = "gone"
            self._purge(_of_campaign(cid))
        if any(s.status == SENDING for s in self.campaigns.values()):
            self._wake()

    # --- suppressions and withdrawn consents --------------------------------------------------

    async def refresh_suppressions(self) -> None:
        top, hashes = await self._db(ledger.new_suppressions, self._suppression_cursor)
        self._suppression_cursor = top
        fresh = [h for h in hashes if h not in self.suppressed]
        if fresh:
            self.suppressed.update(fresh)
            wanted = set(fresh)
            self._purge(lambda row: row.email_hash in wanted)

    async def listen_loop(self) -> None:
        """Hear unsubscribes at their commit (PostgreSQL NOTIFY), on a connection of our own."""
        await self._listener.run(conninfo(), stopping=self._stopping)

    def _heard(self, _channel: str, payload: str) -> None:
        kind, _, rest = payload.partition(":")
        self.notified += 1
        if kind == "h" and rest not in self.suppressed:
            self.suppressed.add(rest)
            self._purge(lambda row: row.email_hash == rest)
        elif kind == "w":
            purpose, _, hashed = rest.partition(":")
            self.withdrawn.add((hashed, purpose))
            self._purge(self.unsubscribed)

    # --- blackout windows ---------------------------------------------------------------------

    async def refresh_blackout(self) -> None:
        blackout = await self._db(blackout_scope)
        if (blackout.national, blackout.departements) == (
            self.blackout.national,
            self.blackout.departements,
        ):
            return  # a window's reason alone is no news to the sender
        log.warning(
            "sender %s: blackout now %s",
            self.id,
            "national" if blackout.national else sorted(blackout.departements) or "none",
        )
        self.blackout = blackout
        self.blocked = blackout.departements
        if blackout.national:
            self._purge(lambda row: True)
        elif blackout.departements:
            blocked = blackout.departements
            self._purge(lambda row: row.departement in blocked)
        self._wake()

    # --- the loop -----------------------------------------------------------------------------

    async def loop(self) -> None:
        last_suppression = 0.0
        while not self._stopping():
            await asyncio.sleep(self._poll_interval)
            try:
                await self.refresh_campaigns()
                await self.refresh_blackout()
                every = self._suppression_poll * (10 if self._listener.listening else 1)
                if time.monotonic() - last_suppression >= every:
                    last_suppression = time.monotonic()
                    await self.refresh_suppressions()
            except Exception:
                log.exception("sender %s: watch failed", self.id)


def _of_campaign(campaign_id: int) -> RowTest:
    return lambda row: row.campaign_id == campaign_id

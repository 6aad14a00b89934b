"""What the mission services share, below them all: the refusal they raise and the cap on open
claims. It lives here so that dispatch, proofs, talking points and kits never import
missions.py, which calls them (missions.py re-exports both names for its callers)."""

from __future__ import annotations

from typing import Any

# Open claims (claimed, submitted or returned) a volunteer may hold at once: work is spread
# over many people rather than hoarded by a few.
MAX_OPEN_CLAIMS = 5


class MissionError(Exception):
    """A refused mission action, with a message for the person who tried it."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message

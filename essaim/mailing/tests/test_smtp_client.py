"""The sender's SMTP client against Postfix's smtp-sink: a pipelined batch that takes more items
as it goes (SmtpClient.send's `refill`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from essaim.mailing.sender.smtp import (
    ConnectionLost,
    Outcome,
    Outgoing,
    RelayConfig,
    Result,
    SmtpClient,
)
from essaim.mailing.tests.support import SMTP_SINK, Sink, run_coroutine

pytestmark = pytest.mark.skipif(SMTP_SINK is None, reason="needs Postfix's smtp-sink")


@dataclass
class Item:
    rcpt_to: str
    mail_from: str = "bounces@campagne.example"

    def payload(self) -> bytes:
        return b"Subject: test\r\n\r\nto " + self.rcpt_to.encode() + b"\r\n.\r\n"


def _run(
    sink: Sink,
    first: list[Item],
    more: list[list[Item]],
    may_start: Callable[[Outgoing], bool] = lambda item: True,
) -> tuple[list[tuple[str, Outcome]], int, bool]:
    """Send `first` on one connection, refilled with the lists of `more` in turn: (each item's
    result in order, how many times refill was asked, whether the connection was lost)."""
    results: list[tuple[str, Outcome]] = []
    asked = 0

    def refill() -> Sequence[Outgoing]:
        nonlocal asked
        asked += 1
        return more.pop(0) if more else []

    def on_result(item: Outgoing, result: Result) -> None:
        results.append((item.rcpt_to, result.outcome))

    async def main() -> bool:
        client = SmtpClient(RelayConfig.from_url(sink.url, timeout=10))
        await client.connect()
        assert client.pipelining  # smtp-sink offers it: the batch is the pipelined one
        try:
            await client.send(first, on_result, may_start, refill)
        except ConnectionLost:
            return True
        finally:
            await client.quit()
        return False

    lost = run_coroutine(main())
    return results, asked, lost


def test_a_batch_goes_on_with_the_items_refill_hands_over_each_sent_once(
    sink_factory: Callable[..., Sink],
) -> None:
    sink = sink_factory()
    names = [f"r{i}@exemple.fr" for i in range(7)]
    items = [Item(n) for n in names]

    results, asked, lost = _run(sink, items[:2], [items[2:5], items[5:]])

    assert not lost
    assert results == [(n, Outcome.ACCEPTED) for n in names]
    assert asked == 3  # two hand-overs, then nothing: the batch ends
    assert sink.recipients() == names


def test_refilled_items_are_asked_may_start_and_released_when_refused(
    sink_factory: Callable[..., Sink],
) -> None:
    sink = sink_factory()
    items = [Item(f"r{i}@exemple.fr") for i in range(4)]

    results, _, _ = _run(sink, items[:1], [items[1:]], lambda item: item.rcpt_to != "r2@exemple.fr")

    # r2 is reported when it is skipped, before r1's final reply: each once, in that order.
    assert results == [
        ("r0@exemple.fr", Outcome.ACCEPTED),
        ("r2@exemple.fr", Outcome.RELEASED),
        ("r1@exemple.fr", Outcome.ACCEPTED),
        ("r3@exemple.fr", Outcome.ACCEPTED),
    ]
    assert sink.recipients() == ["r0@exemple.fr", "r1@exemple.fr", "r3@exemple.fr"]


def test_a_connection_lost_mid_batch_reports_the_refilled_items_once(
    sink_factory: Callable[..., Sink],
) -> None:
    # smtp-sink -q .: the connection closes after the first final dot, without a reply.
    sink = sink_factory("-q", ".")
    items = [Item(f"r{i}@exemple.fr") for i in range(3)]

    results, asked, lost = _run(sink, items[:1], [items[1:]])

    assert lost is True
    # The first final dot left without a reply: unknown. The next envelope had gone with it (the
    # refill came before the dot's reply); no content of the others left: released.
    assert results == [
        ("r0@exemple.fr", Outcome.UNKNOWN),
        ("r1@exemple.fr", Outcome.RELEASED),
        ("r2@exemple.fr", Outcome.RELEASED),
    ]
    assert asked == 1

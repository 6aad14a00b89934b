"""Benchmark: the bulk sender's SMTP client alone, without the ledger, against Postfix's smtp-sink,
with smtp-source as the reference (issue 3).

    .venv/bin/python bench/smtp_client.py [--messages 200000] [--connections 8] [--size 5330]

What the whole sender costs per message splits into the protocol (this script: `SmtpClient` with
pipelining and the sender's event loop, pinned to core 0, one fixed message of `--size` bytes,
10-row batches refilled as the engine does) and the rest (claims, the message builder, outcomes:
bench/sender.py). Same setup as bench/sender.py: smtp-sink (no dump) on core 1, and the
reference `smtp-source -d -s <connections>` with the same message size just before and just
after; the ratio is taken against the faster of the two. Results: a Markdown table on stdout and
JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
from sender import (
    OUT,
    ROOT,
    SENDER_CORE,
    bench_env,
    core_busy,
    core_jiffies,
    free_port,
    process_cpu_s,
    reference_run,
    start_sink,
    timed,
)

BATCH = 10  # rows per batch and per refill, as the engine's batch_per_connection


class _Item:
    """One message to one recipient (smtp.Outgoing), its content fixed."""

    __slots__ = ("data", "mail_from", "rcpt_to")

    def __init__(self, n: int, data: bytes) -> None:
        self.mail_from = f"bounces+{n}-abcdefgh@retours.campagne.example"
        self.rcpt_to = f"electeur{n}@exemple.fr"
        self.data = data

    def payload(self) -> bytes:
        return self.data


def child(port: int, messages: int, connections: int, size: int) -> dict[str, Any]:
    """Send `messages` through `connections` pipelined connections; runs pinned to core 0."""
    import django

    django.setup()
    from essaim.mailing.management.commands.sender import _loop_factory
    from essaim.mailing.message import frame_data
    from essaim.mailing.sender.smtp import Outcome, RelayConfig, SmtpClient

    line = b"x" * 76 + b"\r\n"
    head = b"From: bench@campagne.example\r\nSubject: bench\r\n\r\n"
    lines, rest = divmod(max(0, size - len(head)), len(line))
    data = frame_data(head + line * lines + b"y" * max(0, rest - 2) + b"\r\n")
    left = messages
    results: dict[str, int] = {}

    def take() -> list[_Item]:
        nonlocal left
        n = min(BATCH, left)
        left -= n
        return [_Item(left + i, data) for i in range(n)]

    def on_result(item: Any, result: Any) -> None:
        results[result.outcome.value] = results.get(result.outcome.value, 0) + 1

    async def worker() -> None:
        client = SmtpClient(RelayConfig("127.0.0.1", port))
        await client.connect()
        while items := take():
            refills = 20

            def refill() -> list[_Item]:
                nonlocal refills
                refills -= 1
                return take() if refills >= 0 else []

            await client.send(items, on_result, lambda item: True, refill)
        await client.quit()

    async def run() -> dict[str, float]:
        began, usage = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(worker() for _ in range(connections)))
        end = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "send_s": time.monotonic() - began,
            "user_s": end.ru_utime - usage.ru_utime,
            "sys_s": end.ru_stime - usage.ru_stime,
        }

    factory = _loop_factory()
    timing = asyncio.run(run(), loop_factory=factory)
    if results.get(Outcome.ACCEPTED.value) != messages:
        raise RuntimeError(f"not every message was accepted: {results}")
    # Bytes as smtp-source counts them: the message, before dot-stuffing and the final dot.
    return {**timing, "loop": "uvloop" if factory else "asyncio", "bytes": len(data) - 3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--size", type=int, default=5330, help="bytes per message (bench/sender)")
    parser.add_argument("--child", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    # reference_run reads the sender bench's names for the same two settings.
    args.recipients = args.messages
    with tempfile.TemporaryDirectory(prefix="essaim-bench-smtp-") as tmp:
        env = bench_env(Path(tmp))
        before = reference_run(args, args.size)
        port = free_port()
        sink = start_sink(port)
        try:
            sink_cpu = process_cpu_s(sink.pid)
            cores = core_jiffies()
            run = timed(
                [
                    *SENDER_CORE,
                    sys.executable,
                    __file__,
                    "--child",
                    str(port),
                    str(args.messages),
                    str(args.connections),
                    str(args.size),
                ],
                env={**env, "PYTHONPATH": str(ROOT)},
            )
            busy = core_busy(cores)
            sink_cpu = process_cpu_s(sink.pid) - sink_cpu
        finally:
            sink.terminate()
            sink.wait()
        after = reference_run(args, args.size)
    inner = json.loads(str(run["output"]).strip().splitlines()[-1])
    n = args.messages
    reference = max(n / before[0]["wall_s"], n / after[0]["wall_s"])
    rate = n / inner["send_s"]
    result = {
        "messages": n,
        "connections": args.connections,
        "message_bytes": inner["bytes"],
        "loop": inner["loop"],
        "client_msgs_per_s": round(rate),
        "smtp_source_before_after_msgs_per_s": [
            round(n / before[0]["wall_s"]),
            round(n / after[0]["wall_s"]),
        ],
        "ratio_vs_smtp_source": round(rate / reference, 3),
        # The client's CPU while it sends (its start, Django's included, left out).
        "cpu_us_per_msg": {
            "client": round((inner["user_s"] + inner["sys_s"]) / n * 1e6, 1),
            "client_sys": round(inner["sys_s"] / n * 1e6, 1),
            "sink": round(sink_cpu / n * 1e6, 1),
        },
        "cores_busy": busy,
        "peak_rss_mb": round(run["peak_rss_mb"], 1),
    }
    print(json.dumps(result), file=sys.stderr)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"machine": harness.machine(), "argv": sys.argv}
    (OUT / f"smtp-client-{stamp}.json").write_text(json.dumps({"meta": meta, "result": result}))
    print("| messages | connections | loop | client msg/s | smtp-source msg/s | ratio | µs/msg |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {n} | {args.connections} | {result['loop']} | {result['client_msgs_per_s']}"
        f" | {round(reference)} | {result['ratio_vs_smtp_source']}"
        f" | {result['cpu_us_per_msg']['client']} |"
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()

"""notify(): what one notification costs the transaction that sends it, and how fast it reaches
the bell, while 1 000 people hold their event streams open.

Against the real web process of the run (bench/servers.py). SUBSCRIBERS contractors are made
through the sign-up verb and each holds one stream `GET /events` — the stream every signed-in
page opens, the one the bell re-fetches itself from — opened and held by a separate load process
(bench/sse.py's holder). Their sessions are written into the session store as sign-in writes them.

Each event is `notify(db, person, "milestone.funded", …)` in a transaction the bench commits,
each to a different subscriber: the notification row, its live signal (an outbox row) and its
e-mail (an outbox row for the worker), all in one commit. Measured:

- one at a time (EVENTS, a short pause between): notify() + commit, and delivery from just before
  the commit to the moment the load process reads the "notification" event on that person's
  stream (both clocks are the machine's monotonic clock);
- in a burst (BURST events, WRITERS transactions at once): events committed per second, and
  delivered per second (until the last one arrived).

The bench process's own dispatcher, kicked after each commit as the web process kicks its own,
moves the signal to Redis; the e-mail jobs are handed to the queue (no worker runs during it)."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import time
from typing import Any

from bench.sse import Stream, _percentile_ms, _sessions_for, rig

SUBSCRIBERS = int(os.environ.get("BENCH_NOTIFY_SUBSCRIBERS", "1000"))
EVENTS = 300  # one at a time
PAUSE = 0.02
BURST = 1000  # then all at once, WRITERS transactions in parallel
WRITERS = 8
EVENT, KEY = "notification", "id"


async def _people(sessions, count: int) -> dict[int, int]:
    """`count` contractors (through the verb), with their session epochs."""
    from app.accounts.models import Role
    from app.accounts.services import create_user

    run = secrets.token_hex(3)
    epochs: dict[int, int] = {}
    for start in range(0, count, 100):
        async with sessions() as db, db.begin():
            for i in range(start, min(count, start + 100)):
                user = await create_user(db, email=f"notify.{run}.{i}@pactline.test", name=f"Contractor {i}",
                                         role=Role.contractor, password=None, verified=True)  # fmt: skip
                epochs[user.id] = user.session_epoch
    return epochs


async def _one(sessions, uid: int, n: int) -> tuple[str, float, float, float]:
    """One notification in its own transaction: (its id, start, just before commit, committed)."""
    from app.accounts.models import User
    from app.notifications import notify

    async with sessions() as db:
        user = await db.get_one(User, uid)  # the caller has its person loaded already: not timed
        started = time.monotonic()
        row = await notify(db, user, "milestone.funded", link="/contracts/1", milestone=f"Part {n}", amount="€10.00")
        assert row is not None
        committing = time.monotonic()
        await db.commit()
        return row.public_id, started, committing, time.monotonic()


async def _measure(base_url: str, server_pid: int, env: dict[str, str]) -> dict[str, Any]:
    async with rig(base_url, server_pid, env, event=EVENT, key=KEY, pool_size=WRITERS + 2) as bench:
        sessions = bench.sessions
        epochs = await _people(sessions, SUBSCRIBERS)
        people = list(epochs)
        cookies = await _sessions_for(bench.redis, epochs)
        await asyncio.sleep(1.0)
        _, open_now, failed, took = await bench.ask("open", [Stream(uid, "/events", cookies[uid]) for uid in people])
        await asyncio.sleep(2.0)

        # One at a time.
        cost, committed_at, to = [], {}, {}
        for k in range(EVENTS):
            public_id, started, committing, done = await _one(sessions, people[(k * 7919) % len(people)], k)
            cost.append(done - started)
            committed_at[public_id] = committing
            to[public_id] = (k * 7919) % len(people)
            await asyncio.sleep(PAUSE)
        _, arrived = await bench.ask("collect", list(committed_at))
        delivery = sorted(arrived[i] - committed_at[i] for i in arrived)
        cost.sort()
        missed = sorted(to[i] for i in committed_at if i not in arrived)  # which subscribers (their place in line)

        # A burst: WRITERS transactions at once, each event to a different person.
        queue: asyncio.Queue[int] = asyncio.Queue()
        for k in range(BURST):
            queue.put_nowait(k)
        burst_ids: list[str] = []

        async def writer() -> None:
            while not queue.empty():
                k = queue.get_nowait()
                public_id, *_ = await _one(sessions, people[(EVENTS + k) % len(people)], EVENTS + k)
                burst_ids.append(public_id)

        burst_started = time.monotonic()
        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        burst_committed = time.monotonic() - burst_started
        _, burst_arrived = await bench.ask("collect", burst_ids)
        last = max(burst_arrived.values(), default=burst_started)
        # How many streams are still open at the end, and why others ended.
        _, still_open, ended, _ = await bench.ask("open", [])
    return {
        "subscribers": SUBSCRIBERS,
        "open": open_now,
        "failed": failed,
        "open_seconds": took,
        "events": EVENTS,
        "notify_commit_p50_ms": _percentile_ms(cost, 50),
        "notify_commit_p99_ms": _percentile_ms(cost, 99),
        "received": len(delivery),
        "delivery_p50_ms": _percentile_ms(delivery, 50),
        "delivery_p99_ms": _percentile_ms(delivery, 99),
        "sequential_events_per_s": EVENTS / sum(cost) if cost else 0.0,
        "burst": BURST,
        "writers": WRITERS,
        "burst_committed_per_s": BURST / burst_committed if burst_committed else 0.0,
        "burst_received": len(burst_arrived),
        "missed_subscribers": missed,
        "still_open": still_open,
        "ended": ended,
        "burst_delivered_per_s": len(burst_arrived) / (last - burst_started) if burst_arrived else 0.0,
    }


def measure(base_url: str, server_pid: int, env: dict[str, str]) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(_measure(base_url, server_pid, env))


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"


def describe(result: dict[str, Any]) -> str:
    r = result
    failed = ", ".join(f"{k} ×{v}" for k, v in r["failed"].items()) or "none failed"
    return "\n".join(
        [
            f"notify: one notification per transaction (row + live signal + e-mail outbox row), each to a different "
            f"one of {r['subscribers']} people holding their event stream ({r['open']} open, {failed}):",
            f"  one at a time ({r['events']}): notify + commit p50 {_ms(r['notify_commit_p50_ms'])} ms, "
            f"p99 {_ms(r['notify_commit_p99_ms'])} ms ({r['sequential_events_per_s']:.0f} events/s from one writer); "
            f"delivery to the bell's stream p50 {_ms(r['delivery_p50_ms'])} ms, p99 {_ms(r['delivery_p99_ms'])} ms, "
            f"{r['events'] - r['received']} missed",
            f"  burst ({r['burst']} by {r['writers']} writers at once): {r['burst_committed_per_s']:.0f} events/s "
            f"committed, {r['burst_delivered_per_s']:.0f} events/s delivered, {r['burst'] - r['burst_received']} missed",
            f"  streams still open at the end: {r['still_open']} of {r['open']}"
            + (f" (ended: {', '.join(f'{k} ×{v}' for k, v in r['ended'].items())})" if r["ended"] else ""),
        ]
    )

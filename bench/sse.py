"""SSE fan-out: how many conversation-page event streams one web process holds, what each costs in
memory, and how fast a lasting event reaches the one stream it is for.

Against the real web process of the run (bench/servers.py, production settings: a heartbeat every
15 s, each one re-checking the session and refreshing presence). People come in pairs with a
conversation between them (a job, a proposal and its conversation, made through the verbs), and
each person holds one stream `GET /events?conversation=<id>` — their own channel plus the
conversation's typing and the other's presence, as a conversation page opens it. Their sessions
are written into the session store as sign-in writes them: signing thousands of people in
through the form would measure password hashing, not streams.

A separate load process (multiprocessing, raw asyncio sockets, uvloop when present) opens and holds
the streams. For each step (1 000, 2 000, 3 000, 5 000 open streams) the bench process publishes
DELIVERIES lasting events one at a time, each to a different person, with `app.events.publish` in a
transaction it commits — the outbox path a sent message takes. Its own dispatcher, kicked after
the commit as the web process kicks its own, moves the row to Redis; the web process's stream
writes it out. Delivery is measured from just before the commit to the moment the load process
reads the event on that person's stream (both clocks are the machine's monotonic clock). The web
process's resident memory is read (psutil) before any stream is opened and at each step:
memory per stream is the difference divided by the number of streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import os
import resource
import secrets
import time
from dataclasses import dataclass
from typing import Any

STEPS = tuple(int(n) for n in os.environ.get("BENCH_SSE_STEPS", "1000,2000,3000,5000").split(","))
DELIVERIES = 200  # per step, one at a time
PAUSE = 0.05  # seconds between deliveries: 200 of them span ten seconds, most of a heartbeat round
LIMIT_S = 1.0  # a step whose p99 is above this ends the climb
OPEN_AT_ONCE = 100  # streams being opened concurrently by the load process
TIMEOUT = 10.0  # for one event to arrive
EVENT = "bench-delivery"


# ------------------------------------------------------------------ the load process


@dataclass(frozen=True)
class Stream:
    user_id: int
    path: str
    cookie: str


def _raise_fd_limit(pid: int | None = None) -> int:
    """Soft file-descriptor limit up to the hard one (this process, or `pid` when given)."""
    soft, hard = (
        resource.getrlimit(resource.RLIMIT_NOFILE) if pid is None else resource.prlimit(pid, resource.RLIMIT_NOFILE)
    )
    if hard != resource.RLIM_INFINITY and soft < hard:
        if pid is None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        else:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


class _Holder:
    """Holds the streams; notes when each bench event arrives (monotonic clock)."""

    def __init__(self, host: str, port: int, event: str = EVENT, key: str = "n") -> None:
        self.host, self.port = host, port
        # The event to time and the field of its data that names it (bench/notify.py: "notification", "id").
        self.event, self.key = event, key
        self.arrived: dict[int, float] = {}
        self.open = 0
        self.failed: dict[str, int] = {}
        self.tasks: list[asyncio.Task] = []
        self.news = asyncio.Event()  # set whenever a bench event arrives

    async def hold(self, stream: Stream, ready: asyncio.Future) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 16)
            writer.write(
                (
                    f"GET {stream.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUser-Agent: pactline-bench\r\n"
                    f"Accept: text/event-stream\r\nCookie: {stream.cookie}\r\n\r\n"
                ).encode("latin-1")
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1].decode()
            if status != "200":
                raise ConnectionError(f"HTTP {status}")
            chunked = b"transfer-encoding: chunked" in head.lower()
            buffer = b""
            connected = False
            while True:
                if chunked:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    if size == 0:
                        raise ConnectionError("stream ended")
                    data = await reader.readexactly(size + 2)
                    buffer += data[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        raise ConnectionError("stream ended")
                    buffer += data
                now = time.monotonic()
                while b"\r\n\r\n" in buffer:
                    frame, buffer = buffer.split(b"\r\n\r\n", 1)
                    if not connected:
                        connected = True
                        self.open += 1
                        ready.set_result(True)
                    if b"event: " + self.event.encode() in frame:
                        for line in frame.split(b"\r\n"):
                            if line.startswith(b"data: "):
                                name = json.loads(line[6:]).get(self.key)
                                if name is not None:
                                    self.arrived[name] = now
                                    self.news.set()
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            name = str(exc) if isinstance(exc, ConnectionError) else type(exc).__name__
            self.failed[name] = self.failed.get(name, 0) + 1
            if not ready.done():
                ready.set_result(False)
            else:
                self.open -= 1

    async def open_streams(self, streams: list[Stream]) -> None:
        loop = asyncio.get_running_loop()
        for start in range(0, len(streams), OPEN_AT_ONCE):
            batch = []
            for stream in streams[start : start + OPEN_AT_ONCE]:
                ready = loop.create_future()
                self.tasks.append(loop.create_task(self.hold(stream, ready)))
                batch.append(ready)
            await asyncio.wait(batch, timeout=60)


async def _serve(host: str, port: int, conn, event: str = EVENT, key: str = "n") -> None:
    """Commands from the bench process: ("open", streams) → ("opened", open, failed);
    ("collect", numbers) → ("arrived", {n: time}); ("stop",)."""
    holder = _Holder(host, port, event, key)
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command[0] == "open":
            started = time.monotonic()
            await holder.open_streams(command[1])
            conn.send(("opened", holder.open, dict(holder.failed), time.monotonic() - started))
        elif command[0] == "collect":
            wanted = set(command[1])
            deadline = time.monotonic() + TIMEOUT
            while not wanted <= holder.arrived.keys() and time.monotonic() < deadline:
                holder.news.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(holder.news.wait(), max(0.0, deadline - time.monotonic()))
            conn.send(("arrived", {n: holder.arrived[n] for n in wanted if n in holder.arrived}))
        else:
            for task in holder.tasks:
                task.cancel()
            await asyncio.gather(*holder.tasks, return_exceptions=True)
            conn.send(("stopped",))
            return


def _load_process(host: str, port: int, conn, event: str = EVENT, key: str = "n") -> None:
    _raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(host, port, conn, event, key))


# ------------------------------------------------------------------ the bench process


async def _people(sessions, pairs: int) -> tuple[list[tuple[int, int, str]], dict[int, int]]:
    """(client id, contractor id, conversation public id) per pair, made through the verbs, and
    each person's session epoch."""
    from datetime import date, timedelta

    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.conversations.services import conversation_for_proposal
    from app.marketplace import services as marketplace
    from app.marketplace.forms import JobInput, ProposalInput
    from app.marketplace.models import BudgetType, Visibility
    from app.money import Money

    made = []
    epochs: dict[int, int] = {}
    run = secrets.token_hex(3)
    for i in range(pairs):
        async with sessions() as db, db.begin():
            # No password: these people never use the sign-in form (see the module's docstring).
            client = await create_user(db, email=f"sse.{run}.client.{i}@pactline.test", name=f"Client {i}",
                                       role=Role.client, password=None, verified=True)  # fmt: skip
            contractor = await create_user(db, email=f"sse.{run}.contractor.{i}@pactline.test",
                                           name=f"Contractor {i}", role=Role.contractor, password=None,
                                           verified=True)  # fmt: skip
            job = await marketplace.create_job(
                db,
                client,
                JobInput(
                    title=f"Logo for shop {i}",
                    description="A logo and a sign for a small shop.",
                    skills=["logo design"],
                    budget_type=BudgetType.fixed,
                    budget=Money.parse("900", "EUR"),
                    deadline=date.today() + timedelta(days=30),
                    visibility=Visibility.public,
                ),  # fmt: skip
                publish_now=True,
            )
        async with sessions() as db, db.begin():
            proposal = await marketplace.apply(
                db,
                job.id,
                contractor,
                ProposalInput(
                    cover_letter="I design signs for small shops; here is my plan.",
                    amount=Money.parse("850", "EUR"),
                    milestones=[],
                ),  # fmt: skip
            )
        async with sessions() as db, db.begin():
            from app.marketplace.models import Proposal

            proposal = await db.get_one(Proposal, proposal.id)
            await db.refresh(proposal, ["job"])
            conversation = await conversation_for_proposal(db, proposal)
            made.append((client.id, contractor.id, conversation.public_id))
        epochs[client.id], epochs[contractor.id] = client.session_epoch, contractor.session_epoch
    return made, epochs


async def _sessions_for(redis, epochs: dict[int, int]) -> dict[int, str]:
    """A session per person, the record `start_session` writes at sign-in; returns Cookie headers."""
    from app.accounts.sessions import DEFAULT_MAX_AGE, SESSION_COOKIE, SESSION_NAMESPACE

    now = int(time.time())
    cookies = {}
    async with redis.pipeline(transaction=False) as pipe:
        for uid, epoch in epochs.items():
            sid = secrets.token_hex(32)
            data = {"uid": uid, "epoch": epoch, "auth_at": now, "seen_at": now, "max_age": DEFAULT_MAX_AGE}
            pipe.set(f"{SESSION_NAMESPACE}:{sid}", json.dumps(data), ex=DEFAULT_MAX_AGE)
            cookies[uid] = f"{SESSION_COOKIE}={sid}"
        await pipe.execute()
    return cookies


def _percentile_ms(ordered: list[float], pct: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1] * 1000


def _rss(pid: int) -> int:
    import psutil

    return psutil.Process(pid).memory_info().rss


def _cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def _step(sessions, conn, people: list[int], first_n: int, server_pid: int) -> dict[str, Any]:
    """DELIVERIES events, one at a time, each to a different person among the open streams."""
    from app.events import publish

    started: dict[int, float] = {}
    window, cpu = time.monotonic(), _cpu_seconds(server_pid)
    for k in range(DELIVERIES):
        n = first_n + k
        uid = people[(k * 7919) % len(people)]  # spread over everyone holding a stream
        async with sessions() as db:
            publish(db, uid, EVENT, {"n": n})
            started[n] = time.monotonic()
            await db.commit()
        await asyncio.sleep(PAUSE)
    server_cpu = (_cpu_seconds(server_pid) - cpu) / (time.monotonic() - window)
    conn.send(("collect", list(started)))
    _, arrived = conn.recv()
    latencies = sorted(arrived[n] - started[n] for n in arrived)
    return {
        "deliveries": DELIVERIES,
        "received": len(latencies),
        "missed": DELIVERIES - len(latencies),
        "p50_ms": _percentile_ms(latencies, 50),
        "p99_ms": _percentile_ms(latencies, 99),
        "max_ms": latencies[-1] * 1000 if latencies else None,
        "server_cpu": server_cpu,  # cores the web process used while the deliveries ran
    }


@dataclass
class Rig:
    """What a stream bench works with: the run's database and Redis, and the pipe to the load
    process that holds the streams (commands: see `_serve`)."""

    sessions: Any
    redis: Any
    conn: Any
    server_fds: int

    async def ask(self, *command: Any) -> Any:
        """Send a command to the load process and wait for its answer off the event loop."""
        self.conn.send(command)
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)


@contextlib.asynccontextmanager
async def rig(base_url: str, server_pid: int, env: dict[str, str], *, event: str = EVENT, key: str = "n",
              pool_size: int | None = None):  # fmt: skip
    """The run's database and Redis, this process's own dispatcher (kicked after each commit as
    the web process kicks its own), and a load process holding streams to the web process at
    `base_url`, timing `event` by the field `key` of its data; all stopped on the way out."""
    from urllib.parse import urlsplit

    from redis.asyncio import Redis

    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker
    from app.events.dispatch import Dispatcher
    from app.events.services import on_outbox_commit, remove_outbox_commit

    settings = load_settings(env)
    engine = make_engine(settings, **({"pool_size": pool_size} if pool_size else {}))
    sessions = make_sessionmaker(engine)
    redis = Redis.from_url(settings.redis_url)
    dispatcher = Dispatcher(sessions, redis)
    on_outbox_commit(dispatcher.kick)
    dispatcher.start(idle_seconds=5.0)
    url = urlsplit(base_url)
    server_fds = _raise_fd_limit(server_pid)
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    load = ctx.Process(target=_load_process, args=(url.hostname, url.port, child, event, key), daemon=True)
    load.start()
    try:
        yield Rig(sessions, redis, parent, server_fds)
    finally:
        if load.is_alive():
            with contextlib.suppress(OSError, EOFError):
                parent.send(("stop",))
                if parent.poll(30):
                    parent.recv()
            load.join(10)
            if load.is_alive():
                load.kill()
        remove_outbox_commit(dispatcher.kick)
        await dispatcher.stop()
        await redis.aclose()
        await engine.dispose()


async def _measure(base_url: str, server_pid: int, env: dict[str, str]) -> dict[str, Any]:
    from app.config import load_settings

    steps: list[dict[str, Any]] = []
    heartbeat = load_settings(env).sse_heartbeat_seconds
    async with rig(base_url, server_pid, env) as bench:
        sessions, redis, parent, server_fds = bench.sessions, bench.redis, bench.conn, bench.server_fds
        pairs, epochs = await _people(sessions, math.ceil(max(STEPS) / 2))
        order = [(uid, public_id) for client, contractor, public_id in pairs for uid in (client, contractor)]
        cookies = await _sessions_for(redis, epochs)
        streams = [Stream(uid, f"/events?conversation={public_id}", cookies[uid]) for uid, public_id in order]
        await asyncio.sleep(1.0)
        rss_before = _rss(server_pid)
        opened_so_far = 0
        for target in STEPS:
            _, open_now, failed, took = await bench.ask("open", streams[opened_so_far:target])
            opened_so_far = target
            await asyncio.sleep(2.0)  # let the opening settle (presence announcements, first heartbeats)
            rss = _rss(server_pid)
            holding = [uid for uid, _ in order[:target]]
            result = await _step(sessions, parent, holding, first_n=len(steps) * DELIVERIES, server_pid=server_pid)
            steps.append(
                {
                    "streams": target,
                    "open": open_now,
                    "failed": failed,
                    "open_seconds": took,
                    "rss_mb": rss / 2**20,
                    "rss_per_stream_kb": (rss - rss_before) / max(open_now, 1) / 1024,
                    **result,
                }
            )
            if open_now < target or (result["p99_ms"] or math.inf) > LIMIT_S * 1000:
                break
    held = [s for s in steps if s["open"] >= s["streams"] and (s["p99_ms"] or math.inf) <= LIMIT_S * 1000]
    return {
        "steps": steps,
        "deliveries_per_step": DELIVERIES,
        "pause_s": PAUSE,
        "limit_ms": LIMIT_S * 1000,
        "held": held[-1]["streams"] if held else 0,
        "rss_before_mb": rss_before / 2**20,
        "server_fd_limit": server_fds,
        "heartbeat_s": heartbeat,
    }


def measure(base_url: str, server_pid: int, env: dict[str, str]) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(_measure(base_url, server_pid, env))


def describe(result: dict[str, Any]) -> str:
    r = result
    lines = [
        f"sse fan-out: conversation-page streams held by one web process (heartbeat {r['heartbeat_s']:g} s), "
        f"{r['deliveries_per_step']} lasting events per step one at a time, outbox commit → the person's stream:"
    ]
    for s in r["steps"]:
        failed = ", ".join(f"{k} ×{v}" for k, v in s["failed"].items()) or "none failed"
        p50 = f"{s['p50_ms']:.1f}" if s["p50_ms"] is not None else "-"
        p99 = f"{s['p99_ms']:.1f}" if s["p99_ms"] is not None else "-"
        lines.append(
            f"  {s['streams']:>5} streams ({s['open']} open, {failed}, opened in {s['open_seconds']:.1f} s): "
            f"delivery p50 {p50} ms, p99 {p99} ms, max {s['max_ms'] or 0:.1f} ms, {s['missed']} missed; "
            f"server RSS {s['rss_mb']:.0f} MB, {s['rss_per_stream_kb']:.1f} KB per stream, "
            f"server CPU {s['server_cpu']:.2f} cores meanwhile"
        )
    last = r["steps"][-1]["streams"] if r["steps"] else 0
    if r["held"] and r["held"] == last:
        lines.append(
            f"  one process held {last} streams with delivery p99 ≤ {r['limit_ms']:.0f} ms (the climb stops there)"
        )
    else:
        lines.append(
            f"  one process held {r['held']} streams with delivery p99 ≤ {r['limit_ms']:.0f} ms; at {last} it did not"
        )
    return "\n".join(lines)

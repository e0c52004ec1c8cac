"""The load generator: a small HTTP/1.1 keep-alive client on raw asyncio streams, run in its own process.

Standard library only (uvloop when present), so the spawned process starts fast and measures
the server rather than an HTTP library.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import signal
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

# Statuses that carry no body whatever their headers say (RFC 9112 §6.3).
_NO_BODY = frozenset({204, 304})
_MAX_HEAD = 64 * 1024


class ProtocolError(Exception):
    """The server sent something that is not an HTTP/1.x response we can frame."""


@dataclass(frozen=True)
class Request:
    """One request a connection sends over and over; `expect` lists the statuses that count as success."""

    method: str = "GET"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    expect: frozenset[int] = frozenset({200})

    @classmethod
    def form(
        cls,
        path: str,
        fields: dict[str, str],
        *,
        headers: Sequence[tuple[str, str]] = (),
        expect: Sequence[int] = (303,),
    ) -> Request:
        """A POST of an HTML form (application/x-www-form-urlencoded)."""
        return cls(
            "POST",
            path,
            (("Content-Type", "application/x-www-form-urlencoded"), *headers),
            urlencode(fields).encode(),
            frozenset(expect),
        )

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "User-Agent: pactline-bench"]
        names = {name.lower() for name, _ in self.headers}
        lines += [f"{name}: {value}" for name, value in self.headers]
        if (self.body or self.method in {"POST", "PUT", "PATCH"}) and "content-length" not in names:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for key, value in self.headers:
            if key == "set-cookie":
                parsed = SimpleCookie()
                parsed.load(value)
                jar.update({name: morsel.value for name, morsel in parsed.items()})
        return jar


class Connection:
    """One keep-alive connection. `request()` is for scenario set-up; the load loop uses `exchange()`."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.authority = f"{host}:{port}"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=_MAX_HEAD)

    def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()

    async def request(self, request: Request) -> Response:
        if not self.is_open:
            await self.open()
        status, _, headers, body = await self.exchange(request.encode(self.authority), request.method, keep=True)
        return Response(status, headers, body)

    async def exchange(
        self, raw: bytes, method: str, *, keep: bool = False
    ) -> tuple[int, bool, list[tuple[str, str]], bytes]:
        """Send one encoded request and read its whole response. Returns (status, keep_alive,
        headers, body); headers and body are only collected when `keep` is true."""
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        writer.write(raw)
        while True:
            status, keep_alive, length, chunked, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"), keep)
            if status >= 200 or status == 101:
                break  # 1xx interim responses are followed by the real one
        body = b""
        if method == "HEAD" or status in _NO_BODY:
            pass
        elif chunked:
            body = await _read_chunked(reader, keep)
        elif length is not None:
            if length:
                body = await reader.readexactly(length)
        else:
            body = await reader.read()  # framed by closing the connection
            keep_alive = False
        if not keep_alive:
            self.close()
        return status, keep_alive, headers, body if keep else b""


def _parse_head(head: bytes, keep: bool) -> tuple[int, bool, int | None, bool, list[tuple[str, str]]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {lines[0][:80]!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise ProtocolError(f"bad status line {lines[0][:80]!r}") from None
    keep_alive = parts[0] == b"HTTP/1.1"
    length: int | None = None
    chunked = False
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:80]!r}")
        name = name.strip().lower()
        value = value.strip()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.lower().endswith(b"chunked")
        elif name == b"connection":
            tokens = value.lower()
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens:
                keep_alive = True
        if keep:
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
    return status, keep_alive, length, chunked, headers


async def _read_chunked(reader: asyncio.StreamReader, keep: bool) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_line[:80]!r}") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
                pass
            return b"".join(parts)
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")
        if keep:
            parts.append(chunk[:-2])


# A scenario's per-connection set-up: runs in the load process on the connection that will carry
# the load (so cookies it collects belong to that connection), before the warm-up starts.
# It must be a module-level function (or functools.partial of one) so it can cross to the process.
Prepare = Callable[[Connection, dict[str, Any]], Awaitable[Request | Sequence[Request]]]


@dataclass(frozen=True)
class LoadSpec:
    host: str
    port: int
    request: Request | None = None
    prepare: Prepare | None = None
    params: dict[str, Any] = field(default_factory=dict)
    connections: int = 32
    warmup: float = 1.0
    seconds: float = 5.0
    server_pid: int | None = None  # to report the server's CPU use over the measured window


@dataclass
class _Tally:
    latencies: list[int] = field(default_factory=list)  # ns, successful responses only
    statuses: Counter[int] = field(default_factory=Counter)  # unexpected statuses
    exceptions: Counter[str] = field(default_factory=Counter)


async def _drive(
    conn: Connection,
    plan: Sequence[Request],
    tally: _Tally,
    clock: dict[str, int],
) -> None:
    encoded = [(r.encode(conn.authority), r.method, r.expect) for r in plan]
    count = len(encoded)
    index = 0
    perf = time.perf_counter_ns
    latencies = tally.latencies
    while True:
        started = perf()
        if started >= clock["end"]:
            break
        raw, method, expect = encoded[index]
        index = (index + 1) % count
        try:
            if not conn.is_open:
                await conn.open()
            status = (await conn.exchange(raw, method))[0]
        except (
            OSError,
            EOFError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ProtocolError,
            ValueError,
        ) as exc:
            finished = perf()
            conn.close()
            if clock["measure"] <= finished <= clock["end"]:
                tally.exceptions[type(exc).__name__] += 1
            await asyncio.sleep(0.01)  # a refused connection must not become a busy loop
            continue
        finished = perf()
        if clock["measure"] <= finished <= clock["end"]:
            if status in expect:
                latencies.append(finished - started)
            else:
                tally.statuses[status] += 1
    conn.close()


def _cpu_ticks(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def _percentile(sorted_values: Sequence[int], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1] / 1e6


async def _run(spec: LoadSpec) -> dict[str, Any]:
    conns = [Connection(spec.host, spec.port) for _ in range(spec.connections)]
    if spec.prepare is not None:
        prepared = await asyncio.gather(*(spec.prepare(conn, spec.params) for conn in conns))
        plans = [[p] if isinstance(p, Request) else list(p) for p in prepared]
    else:
        assert spec.request is not None, "a scenario needs a request or a prepare function"
        plans = [[spec.request] for _ in conns]

    start = time.perf_counter_ns()
    clock = {"measure": start + int(spec.warmup * 1e9), "end": start + int((spec.warmup + spec.seconds) * 1e9)}
    tally = _Tally()
    tasks = [asyncio.ensure_future(_drive(conn, plan, tally, clock)) for conn, plan in zip(conns, plans, strict=True)]

    await asyncio.sleep(spec.warmup)
    cpu_client, ticks_server = time.process_time(), _cpu_ticks(spec.server_pid)
    await asyncio.sleep(max(0.0, (clock["end"] - time.perf_counter_ns()) / 1e9))
    cpu_client, ticks_end = time.process_time() - cpu_client, _cpu_ticks(spec.server_pid)

    # Requests still in flight at the deadline are not counted; a server that stops answering
    # must not hang the run.
    _, stuck = await asyncio.wait(tasks, timeout=10)
    for task in stuck:
        task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            tally.exceptions[type(task.exception()).__name__] += 1
    for conn in conns:
        conn.close()

    window = (clock["end"] - clock["measure"]) / 1e9
    lat = sorted(tally.latencies)
    server_cpu = None
    if ticks_server is not None and ticks_end is not None:
        server_cpu = (ticks_end - ticks_server) / os.sysconf("SC_CLK_TCK") / window
    return {
        "expect": sorted(set().union(*(r.expect for plan in plans for r in plan))),
        "ok": len(lat),
        "errors": sum(tally.statuses.values()) + sum(tally.exceptions.values()),
        "error_statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "error_exceptions": dict(tally.exceptions),
        "stuck_requests": len(stuck),
        "seconds": window,
        "rps": len(lat) / window,
        "p50_ms": _percentile(lat, 50),
        "p90_ms": _percentile(lat, 90),
        "p99_ms": _percentile(lat, 99),
        "max_ms": lat[-1] / 1e6 if lat else None,
        "client_cpu": cpu_client / window,
        "server_cpu": server_cpu,
    }


def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Run the load in this process (the CLI runs it through `run_load_in_process`)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_run(spec))
    return uvloop.run(_run(spec))


def _child(spec: LoadSpec, conn: Any) -> None:
    # The orchestrator owns Ctrl-C and stops us; a KeyboardInterrupt traceback here is noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(("ok", run_load(spec)))
    except BaseException:  # noqa: BLE001 — report anything to the parent rather than die silently
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def run_load_in_process(spec: LoadSpec) -> dict[str, Any]:
    """Run the load in a fresh process so it does not share a GIL with the orchestrator."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(spec, sender), name="bench-load", daemon=True)
    process.start()
    sender.close()
    finished = False
    try:
        # Start-up, per-connection set-up, warm-up, measurement, and the 10 s drain.
        if not receiver.poll(spec.warmup + spec.seconds + 60):
            raise RuntimeError("the load generator did not report in time")
        try:
            kind, payload = receiver.recv()
        except EOFError:
            raise RuntimeError(f"the load generator died (exit code {process.exitcode})") from None
        finished = True
        if kind != "ok":
            raise RuntimeError(f"the load generator failed:\n{payload}")
        return payload
    finally:
        receiver.close()
        if finished:
            process.join(timeout=5)
        if process.is_alive():
            process.kill()
        process.join()

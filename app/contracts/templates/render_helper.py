"""The template render helper: a small process that forks one child per render and kills it late.

Started by templating.py as `python -m app.contracts.templates.render_helper`, once per server process. It
reads one JSON request per line on stdin — {"id", "seconds", "jobs": [[body, declared, values]]} —
and answers one JSON line on stdout — {"id", "results": [[kind, text]]}, kind being "ok",
"invalid", "limit" or "problem". Each request is filled in by a forked child with a memory and a
CPU ceiling; a child still running at its deadline is killed and the answer says so. The helper
imports only the sandbox, so it is small, single-threaded and cheap to fork; it leaves when
stdin closes (its server has gone)."""

from __future__ import annotations

import json
import math
import os
import selectors
import signal
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.contracts.templates.limits import TOO_MUCH_MEMORY, TOO_SLOW, TemplateInvalid, TemplateLimit, TemplateProblem
from app.contracts.templates.sandbox import render_here

CHILD_MEMORY_BYTES = 256 * 1024 * 1024  # on top of what the child starts with
GRACE_SECONDS = 0.5
MAX_CHILDREN = 4  # renders at once; more requests wait their turn (so 100 previews are not 100 forks)
CANNOT_READ = "This template could not be filled in. Check its tags and filters."  # the child's own deadline (in the sandbox budget) should come first


def _kind(exc: TemplateProblem) -> str:
    if isinstance(exc, TemplateInvalid):
        return "invalid"
    if isinstance(exc, TemplateLimit):
        return "limit"
    return "problem"


def _limit_child(seconds: float) -> None:
    """Memory and CPU ceilings (Linux): hitting one ends the child, never the helper."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        ceiling = in_use + CHILD_MEMORY_BYTES
        if hard == resource.RLIM_INFINITY or ceiling < hard:
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
        cpu = math.ceil(seconds) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard == resource.RLIM_INFINITY or cpu < hard:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ImportError, OSError, ValueError):
        pass  # not Linux: the deadline and the kill still hold


def fill_in(jobs: list[list[Any]], seconds: float) -> list[list[str]]:
    """What a child does: fill in each template within one deadline."""
    deadline = time.monotonic() + seconds
    results: list[list[str]] = []
    for body, declared, values in jobs:
        try:
            results.append(["ok", render_here(body, set(declared), values, deadline=deadline)])
        except TemplateProblem as exc:
            results.append([_kind(exc), str(exc)])
        except MemoryError:
            results.append(["limit", TOO_MUCH_MEMORY])
        except Exception:  # a sandbox bug, not the author's doing: say so plainly, keep the details
            traceback.print_exc()
            results.append(["problem", CANNOT_READ])
    return results


@dataclass
class _Child:
    pid: int
    request_id: int
    jobs: int
    deadline: float
    received: bytearray = field(default_factory=bytearray)


class Helper:
    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, _Child] = {}  # by the read end of the child's pipe
        self.pending = bytearray()
        self.waiting: deque[bytes] = deque()
        self.open = True

    def answer(self, request_id: Any, results: list[list[str]]) -> None:
        sys.stdout.buffer.write(json.dumps({"id": request_id, "results": results}).encode() + b"\n")
        sys.stdout.buffer.flush()

    def start(self, line: bytes) -> None:
        try:
            request = json.loads(line)
            request_id, seconds, jobs = request["id"], float(request["seconds"]), request["jobs"]
        except (ValueError, KeyError, TypeError):
            return  # not from our server: nobody is waiting for an answer
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 0
            try:
                os.close(read_end)
                _limit_child(seconds)
                payload = json.dumps(fill_in(jobs, seconds)).encode()
                view = memoryview(payload)
                while view:
                    view = view[os.write(write_end, view) :]
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        os.set_blocking(read_end, False)
        self.children[read_end] = _Child(pid, request_id, len(jobs), time.monotonic() + seconds + GRACE_SECONDS)
        self.selector.register(read_end, selectors.EVENT_READ)

    def finish(self, read_end: int, *, late: bool = False) -> None:
        child = self.children.pop(read_end)
        self.selector.unregister(read_end)
        os.close(read_end)
        if late:
            os.kill(child.pid, signal.SIGKILL)
        os.waitpid(child.pid, 0)
        try:
            results = json.loads(child.received) if not late else None
        except ValueError:
            results = None  # the child died before it finished writing: out of memory or CPU time
        if not isinstance(results, list) or len(results) != child.jobs:
            results = [["limit", TOO_SLOW if late else TOO_MUCH_MEMORY]] * child.jobs
        self.answer(child.request_id, results)

    def read_requests(self) -> None:
        data = os.read(0, 1 << 16)
        if not data:
            self.open = False
            return
        self.pending += data
        while b"\n" in self.pending:
            line, _, rest = self.pending.partition(b"\n")
            self.pending = bytearray(rest)
            self.waiting.append(bytes(line))

    def run(self) -> None:
        os.set_blocking(0, False)
        self.selector.register(0, selectors.EVENT_READ)
        while self.open or self.children or self.waiting:
            while self.waiting and len(self.children) < MAX_CHILDREN:
                self.start(self.waiting.popleft())
            now = time.monotonic()
            for read_end, child in list(self.children.items()):
                if child.deadline <= now:
                    self.finish(read_end, late=True)
            timeout = min((c.deadline for c in self.children.values()), default=now + 60) - now
            for key, _ in self.selector.select(max(timeout, 0)):
                if key.fd == 0:
                    self.read_requests()
                    if not self.open:
                        self.selector.unregister(0)
                    continue
                data = os.read(key.fd, 1 << 16)
                if data:
                    self.children[key.fd].received += data
                else:
                    self.finish(key.fd)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops us by closing stdin
    Helper().run()


if __name__ == "__main__":
    main()

"""Contract templates: Jinja2 in a limited sandbox (sandbox.py), filled in inside a child process.

A template that uses an undeclared placeholder, reaches for private attributes, or includes
other templates is refused when it is saved, with the line to fix — not when someone renders
a contract from it. One that would loop, grow or recurse without end is stopped by the
sandbox's budget; whatever the sandbox did not foresee is stopped by the child process: it has a
memory ceiling and is killed at its deadline, so no template can hold the event loop, a server
thread or the server's memory."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from app.contracts.templates.limits import SECONDS, TOO_SLOW, TemplateInvalid, TemplateLimit, TemplateProblem
from app.contracts.templates.sandbox import check_template

__all__ = [
    "ContractTemplate",
    "Placeholder",
    "TemplateInvalid",
    "TemplateLimit",
    "TemplateProblem",
    "TemplateUnavailable",
    "check_template",
    "render",
    "render_all",
]

log = logging.getLogger("pactline.templates")
# The helper answers at its deadline; this covers starting it and a helper that stopped answering.
_PATIENCE_SECONDS = 5.0
_SOURCE_ROOT = str(Path(__file__).resolve().parents[3])
UNAVAILABLE = "Templates can't be filled in right now. Please try again in a minute."


class TemplateUnavailable(TemplateProblem):
    """The render helper could not be reached: our problem, not the template's."""


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: str


@dataclass(frozen=True)
class ContractTemplate:
    key: str
    title: str
    kind: str  # milestone | retainer | rider
    body: str
    placeholders: tuple[Placeholder, ...] = field(default_factory=tuple)

    @property
    def declared(self) -> set[str]:
        return {p.name for p in self.placeholders}


_KINDS: dict[str, type[TemplateProblem]] = {
    "invalid": TemplateInvalid,
    "limit": TemplateLimit,
    "problem": TemplateProblem,
}


class _Helper:
    """The server process's link to its render helper (render_helper.py), started on first use and
    again after it died or the server process forked. Requests carry ids; one reader thread hands
    each answer to the request waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0
        self._waiting: dict[int, Future[list[list[str]]]] = {}
        self._ids = itertools.count(1)

    def _running(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is not None and process.poll() is None and self._owner == os.getpid():
            return process
        # Wherever the server was started from, the helper imports the same `app` package.
        path = os.pathsep.join(p for p in (_SOURCE_ROOT, os.environ.get("PYTHONPATH", "")) if p)
        process = subprocess.Popen(
            [sys.executable, "-m", "app.contracts.templates.render_helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        self._process, self._owner = process, os.getpid()
        threading.Thread(target=self._read, args=(process,), name="template-helper", daemon=True).start()
        return process

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                answer = json.loads(line)
                waiting = self._waiting.pop(answer["id"], None)
            except (ValueError, KeyError, TypeError):
                continue
            if waiting is not None and not waiting.done():
                waiting.set_result(answer["results"])
        log.warning("the template render helper stopped (exit code %s)", process.wait())
        with self._lock:
            if self._process is process:
                self._process = None
                # Whoever waits on this helper would wait for nothing: tell them now.
                for waiting in self._waiting.values():
                    if not waiting.done():
                        waiting.set_exception(OSError("the template render helper stopped"))
                self._waiting.clear()

    def submit(self, jobs: list[list[object]], seconds: float) -> tuple[int, Future[list[list[str]]]]:
        request_id, waiting = next(self._ids), Future()
        line = json.dumps({"id": request_id, "seconds": seconds, "jobs": jobs}).encode() + b"\n"
        with self._lock:
            self._waiting[request_id] = waiting
            try:
                process = self._running()
                assert process.stdin is not None
                process.stdin.write(line)
                process.stdin.flush()
            except OSError:
                self._waiting.pop(request_id, None)
                self._process = None
                raise
        return request_id, waiting

    def forget(self, request_id: int) -> None:
        self._waiting.pop(request_id, None)


_HELPER = _Helper()


async def render_all(
    jobs: Sequence[tuple[ContractTemplate, Mapping[str, object]]], *, seconds: float = SECONDS
) -> list[str | TemplateProblem]:
    """Each template's filled-in text, or the TemplateProblem that explains why it can't be filled
    in. One child process fills in all of them, within one deadline; the event loop only waits."""
    if not jobs:
        return []
    payload: list[list[object]] = [
        [template.body, sorted(template.declared), {k: v for k, v in values.items() if k in template.declared}]
        for template, values in jobs
    ]
    try:
        request_id, waiting = await asyncio.to_thread(_HELPER.submit, payload, seconds)
    except OSError:
        log.exception("could not reach the template render helper")
        return [TemplateUnavailable(UNAVAILABLE) for _ in jobs]
    try:
        answers = await asyncio.wait_for(asyncio.wrap_future(waiting), seconds + _PATIENCE_SECONDS)
    except TimeoutError:
        _HELPER.forget(request_id)
        return [TemplateLimit(TOO_SLOW) for _ in jobs]
    except OSError:
        return [TemplateUnavailable(UNAVAILABLE) for _ in jobs]
    return [text if kind == "ok" else _KINDS.get(kind, TemplateProblem)(text) for kind, text in answers]


async def render(template: ContractTemplate, values: Mapping[str, object]) -> str:
    """The template's filled-in text, or TemplateProblem."""
    (result,) = await render_all([(template, values)])
    if isinstance(result, TemplateProblem):
        raise result
    return result

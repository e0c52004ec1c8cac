"""Hostile values by kind, the route table read for what each route accepts, and the raw ASGI
call the sweep uses for the long-lived event stream."""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode

from litestar import Litestar
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg, ParameterKwarg
from litestar.routes import HTTPRoute

MISSING = object()  # the field is left out
REPEATED = ["first", "second"]  # the field is sent twice (a list where a string is expected)

# Values for query strings, paths and form fields, by kind.
TEXT: dict[str, Any] = {
    "NUL byte": "before\x00after",
    "CR LF and control characters": "line\r\nSet-Cookie: sweep=1\x01\x08\x1b[31m\x7f",
    "non-ASCII": "Zoë ☃ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u202egnp.exe 日本語",
    "digit look-alikes": "²³",
    "huge number": "9" * 30,
    "negative number": "-1",
    "73 characters": ("a long passphrase nobody guesses " * 3)[:73],  # one past what some libraries take
    "100 KB string": "x" * 100_000,
    "template and markup": "{{ 7*7 }}{% for x in y %}${x}%s<script>alert(1)</script>' OR '1'='1",
    "malformed URL": "http://[evil/\\..%2f",
    "empty": "",
    "invalid UTF-8": b"\xff\xfe\xc3(",
    "repeated field": REPEATED,
    "missing": MISSING,
}
MEGABYTE = "x" * 1_000_000  # sent once per form, in every field at once
# What the other personas send (they are mostly turned away before anything is read).
FEW = ("NUL byte", "non-ASCII", "100 KB string", "invalid UTF-8", "repeated field")
# In a URL: a real server (and httpx) refuses URLs of 100 KB, so long values are 8 KB there.
URL_TEXT: dict[str, Any] = {k: v for k, v in TEXT.items() if k != "100 KB string"} | {"8 KB string": "x" * 8192}
# A number in the path: what an int parameter can be sent as.
NUMBERS: dict[str, str] = {
    "huge number": "9" * 30,
    "int64 overflow": str(2**63),
    "int32 overflow": str(2**31),
    "negative number": "-1",
    "digit look-alikes": "²",
}
# Header values a real HTTP server lets through (it refuses NUL, CR and LF in headers itself).
HEADER: dict[str, Any] = {
    "non-ASCII": "Zoë ☃ 日本語".encode(),
    "8 KB string": "x" * 8192,
    "template and markup": "{{ 7*7 }}<script>alert(1)</script>",
    "empty": "",
    "huge number": "9" * 30,
    "malformed URL": "http://[evil/",
    "invalid UTF-8": b"\xff\xfe\xc3(",
}
# JSON field values: wrong types as well as hostile strings.
JSON_VALUES: dict[str, Any] = {
    **{kind: value for kind, value in TEXT.items() if isinstance(value, str)},
    "lone surrogate": "\udcff",
    "null": None,
    "number": 12345,
    "float": 1.5,
    "boolean": True,
    "list": ["a", "b"],
    "object": {"$ne": ""},
    "missing": MISSING,
}
# Whole bodies that are not the JSON object a route expects.
JSON_BODIES: dict[str, bytes] = {
    "empty body": b"",
    "JSON array": b"[]",
    "JSON string": b'"text"',
    "JSON number": b"1e999",
    "JSON null": b"null",
    "truncated JSON": b'{"name": ',
    "deeply nested JSON": b"[" * 30_000,
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "NUL byte": b'{"name": "a\x00b"}',
    "100 KB body": b'{"name": "' + b"x" * 100_000 + b'"}',
}
# What a file field can be sent as.
FILE_NAMES: dict[str, str] = {
    "NUL byte in the file name": "a\x00b.pdf",
    "non-ASCII file name": "Zoë ☃ 日本.pdf",
    "path in the file name": "../../etc/passwd",
    "1 KB file name": "x" * 1024 + ".pdf",
}
FILE_CONTENTS: dict[str, tuple[bytes, str]] = {
    "empty file": (b"", "application/pdf"),
    "HTML posing as a PNG": (b"<!doctype html><script>alert(1)</script>", "image/png"),
    "100 KB of noise": (bytes(range(256)) * 400, "application/octet-stream"),
    "hostile content type": (b"%PDF-1.4\n%%EOF\n", "text/html; charset=\u00ff"),
}


def as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def urlencoded(pairs: list[tuple[str, Any]]) -> str:
    """A query string or form body; bytes are sent as they are (invalid UTF-8 included)."""
    flat: list[tuple[str, str | bytes]] = []
    for name, value in pairs:
        if value is MISSING:
            continue
        for one in value if isinstance(value, list) else [value]:
            flat.append((name, one))
    return urlencode(flat)


def in_path(value: str | bytes) -> str:
    return quote(as_bytes(value), safe="")


# ---------------------------------------------------------------- the route table

# Handler arguments Litestar fills from the request or the app, never from the query string.
RESERVED = {"request", "state", "scope", "headers", "cookies", "query", "body", "data", "socket", "self"}
_QUERY_READ = re.compile(r"""query_params\.get\(\s*["']([\w-]+)["']""")
_PATH_PARAM = re.compile(r"\{(\w+):(\w+)\}")


@dataclass
class Endpoint:
    """One method of one route, as the route table describes it."""

    method: str
    path: str  # the template, e.g. "/jobs/{job_id:int}"
    handler: HTTPRouteHandler

    @property
    def path_params(self) -> dict[str, str]:
        """Name → type ("int", "str", "path")."""
        return dict(_PATH_PARAM.findall(self.path))

    def query_params(self) -> list[str]:
        """Query parameters the handler declares, and those its code reads by a literal name."""
        names: list[str] = []
        dependencies = set(self.handler.resolve_dependencies())
        for name, parameter in self.handler.parsed_fn_signature.parameters.items():
            if name in RESERVED or name in self.path_params or name in dependencies:
                continue
            kwarg = parameter.kwarg_definition
            if isinstance(kwarg, BodyKwarg):
                continue
            if isinstance(kwarg, ParameterKwarg):
                if kwarg.param_type is ParamType.QUERY:
                    names.append(kwarg.name or name)
            else:
                names.append(name)
        try:
            source = inspect.getsource(self.handler.fn)
        except (OSError, TypeError):
            source = ""
        names += _QUERY_READ.findall(source)
        return list(dict.fromkeys(names))

    @property
    def takes_body(self) -> bool:
        return "data" in self.handler.parsed_fn_signature.parameters

    def url(self, params: dict[str, Any]) -> str:
        """The path with these parameters, percent-encoded as a browser would send them."""

        def fill(match: re.Match) -> str:
            name, kind = match.group(1), match.group(2)
            value = params[name]
            raw = value if isinstance(value, bytes) else str(value)
            return quote(as_bytes(raw), safe="/") if kind == "path" else in_path(raw)

        return _PATH_PARAM.sub(fill, self.path)

    def matches(self, method: str, action_path: str) -> bool:
        return method == self.method and route_pattern(self.path).fullmatch(action_path) is not None


def route_pattern(template: str) -> re.Pattern:
    """The concrete paths a template stands for ("/jobs/{job_id:int}" → "/jobs/12")."""
    kinds = {"int": r"-?\d+", "str": r"[^/]+", "path": r".*"}
    pieces, last = [], 0
    for match in _PATH_PARAM.finditer(template):
        pieces += [re.escape(template[last : match.start()]), kinds[match.group(2)]]
        last = match.end()
    return re.compile("".join([*pieces, re.escape(template[last:])]))


def endpoints(app: Litestar) -> dict[str, list[Endpoint]]:
    """Every route's methods, by path template. Litestar's automatic OPTIONS answers are left out:
    they read nothing from the request (the sweep is about parsing)."""
    table: dict[str, list[Endpoint]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method == "OPTIONS":
                    continue
                table.setdefault(route.path, []).append(Endpoint(method, route.path, handler))
    return table


# ---------------------------------------------------------------- the event stream, without reading forever


async def open_stream(app: Litestar, method: str, url: str, headers: list[tuple[bytes, bytes]]) -> int:
    """Start a long-lived response, note its status, then hang up (as a browser tab closing would)."""
    path, _, query = url.partition("?")
    status: list[int] = []
    started, hang_up = asyncio.Event(), asyncio.Event()
    request_sent = False

    async def receive() -> dict:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
            started.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote_to_bytes(path).decode("utf-8", "replace"),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    task = asyncio.create_task(app(scope, receive, send))
    answered = asyncio.create_task(started.wait())
    await asyncio.wait({task, answered}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    answered.cancel()
    hang_up.set()
    await asyncio.wait_for(task, timeout=10)  # raises what the app let out, if anything
    assert status, f"{method} {path} never answered"
    return status[0]

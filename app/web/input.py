"""Hostile input at the door: no control character a request carries reaches SQL or Redis.

Postgres refuses NUL in text (and in JSONB), UTF-8 cannot encode a lone surrogate, and no person
types the other control characters. So every text a request can carry is checked once, where it
enters: the path and query (middleware, before sessions or limits read anything), the header
values, and the body when the application reads it (`CheckedRequest`). Reading the body lazily
keeps the API's rule that a missing or wrong key answers 401 before the body is looked at.
Anything refused answers 400 with a plain sentence (JSON for the API, a page or toast for people).
"""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Request
from litestar._parsers import parse_url_encoded_form_data
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import ClientException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

# C0 controls except tab, line feed and carriage return (text areas send those), DEL, the C1
# controls, and lone surrogates (what JSON's "\ud800" decodes to; UTF-8 cannot carry it).
_FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Header values arrive as bytes: 0x80-0xFF are pieces of UTF-8 text there, so only C0 controls
# (except tab) and DEL are refused.
_FORBIDDEN_HEADER = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

_CHECKED = "pactline_body_checked"


class UnacceptableCharacters(ClientException):
    status_code = 400


def _refuse(where: str) -> UnacceptableCharacters:
    return UnacceptableCharacters(
        f"{where} contains an invisible control character (such as a NUL byte) that we can't accept. "
        "Remove it and try again."
    )


def has_forbidden(text: str) -> bool:
    return _FORBIDDEN_TEXT.search(text) is not None


def check_value(value: Any, where: str) -> None:
    """Raise UnacceptableCharacters if any string in `value` (keys included, at any depth) has a
    forbidden character. Iterative: a deeply nested JSON body cannot exhaust the stack here."""
    pending: list[tuple[Any, str]] = [(value, where)]
    while pending:
        item, place = pending.pop()
        if isinstance(item, str):
            if has_forbidden(item):
                raise _refuse(place)
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and has_forbidden(key):
                    raise _refuse("A field name")
                pending.append((inner, f"The field “{_printable(key)}”"))
        elif isinstance(item, list | tuple):
            pending.extend((inner, place) for inner in item)
        elif isinstance(item, UploadFile):
            if item.filename and has_forbidden(item.filename):
                raise _refuse("The file name")


def _printable(key: Any) -> str:
    return str(key)[:60]


def check_body(content_type: str, body: bytes) -> None:
    """Form posts are checked as the application will parse them; any other body that is JSON is
    decoded (as leniently as the standard library does) and every string in it checked."""
    if not body:
        return
    if content_type == RequestEncodingType.URL_ENCODED:
        check_value(parse_url_encoded_form_data(body), "This form")
        return
    if content_type == RequestEncodingType.MULTI_PART:
        return  # parsed part by part by form(), which checks the result
    if body.lstrip()[:1] not in (b"{", b"[", b'"'):
        return
    try:
        payload = json.loads(body)
    except RecursionError:
        raise UnacceptableCharacters("The JSON in this request is nested too deeply.") from None
    except ValueError:
        return  # not JSON after all: whoever reads it answers that
    check_value(payload, "The request")


class CheckedRequest(Request):
    """The application's request class: a body is checked the first time anything reads it."""

    async def body(self) -> bytes:
        body = await super().body()
        if not self.scope.get(_CHECKED):  # type: ignore[misc]
            check_body(self.content_type[0], body)
            self.scope[_CHECKED] = True  # type: ignore[typeddict-unknown-key]
        return body

    async def form(self) -> FormMultiDict:
        form = await super().form()
        if self.content_type[0] == RequestEncodingType.MULTI_PART:  # URL-encoded: checked in body()
            check_value(form.dict(), "This form")
        return form


class InputGuardMiddleware(ASGIMiddleware):
    """Path, query string and header values, before anything else reads them. A multipart body
    that Litestar will hand to the route as `data` is parsed (and so checked) here too: its
    multipart reader does not go through `Request.body` or `Request.form`."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if has_forbidden(scope.get("path", "")):
            raise _refuse("The address")
        for name, value in scope.get("headers", ()):
            if _FORBIDDEN_HEADER.search(value):
                raise _refuse(f"The {name.decode('latin-1')} header")
        request: Request = scope["litestar_app"].request_class(scope, receive)
        for key, value in request.query_params.multi_items():
            if has_forbidden(key):
                raise _refuse("The address")
            if has_forbidden(value):
                raise _refuse(f"The address (its “{_printable(key)}” part)")
        if _takes_multipart(scope) and request.content_type[0] == RequestEncodingType.MULTI_PART:
            await request.form()
        await next_app(scope, receive, send)


def _takes_multipart(scope: Scope) -> bool:
    data = scope["route_handler"].parsed_fn_signature.parameters.get("data")
    kwarg = data.kwarg_definition if data is not None else None
    return getattr(kwarg, "media_type", None) == RequestEncodingType.MULTI_PART

"""htmx response helpers: toasts through HX-Trigger, redirects that work with and without htmx."""

from __future__ import annotations

import json

from litestar import Request, Response
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.web.templating import is_htmx


def toast_headers(message: str, level: str = "info", *, reswap_none: bool = False) -> dict[str, str]:
    headers = {"HX-Trigger": json.dumps({"toast": {"message": message, "level": level}})}
    if reswap_none:
        headers["HX-Reswap"] = "none"
    return headers


def toast_response(message: str, level: str = "error", status_code: int = 200) -> Response:
    """An empty answer that tells htmx to show a toast and leave the page as it is."""
    return Response(b"", status_code=status_code, headers=toast_headers(message, level, reswap_none=True))


def see_other(request: Request, url: str) -> Response:
    """After a successful POST: 303 for plain forms, HX-Redirect for htmx."""
    if is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)

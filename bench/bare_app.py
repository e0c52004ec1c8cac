"""The framework ceiling: a Litestar app with one constant handler and nothing else.

It answers the same body as Pactline's /health, so the gap between the two is exactly what
Pactline's middleware, logging and plugins cost per request.
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def index() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[index], openapi_config=None, debug=False)

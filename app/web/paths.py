"""What every route's path parameters must be before a handler sees them."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler

# Our ids are Postgres bigints; a larger number can name no row, and asyncpg refuses to send it.
BIGINT = range(-(2**63), 2**63)


def ids_in_range(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """An app-wide guard: /jobs/99999999999999999999 is a page that does not exist (404), not a
    query the database refuses (500)."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and value not in BIGINT:
            raise NotFoundException()

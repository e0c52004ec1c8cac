"""What path parameters must be before a handler sees them."""

from __future__ import annotations

from pathlib import PurePath

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.errors import NotFound

# Our ids are Postgres bigints; a larger number can name no row, and asyncpg refuses to send it.
BIGINT = range(-(2**63), 2**63)


def ids_in_range(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """An app-wide guard: /jobs/99999999999999999999 is a page that does not exist (404), not a
    query the database refuses (500)."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and value not in BIGINT:
            raise NotFound()


NAME_MAX = 255  # bytes in one file name, on the file systems we serve static files from


def file_path_fits(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The static files router's guard: a path no file system can hold is a file that does not
    exist (404), not an OSError that Litestar turns into a 500."""
    path = str(connection.path_params.get("file_path", ""))
    if "\x00" in path or any(len(part.encode()) > NAME_MAX for part in PurePath(path).parts):
        raise NotFound()

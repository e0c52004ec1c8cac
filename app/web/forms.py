"""Reading HTML form posts: plain strings in, friendly per-field messages out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.enums import RequestEncodingType
from litestar.params import Body

FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()


def whole_number(value: str, *, maximum: int = 2**63 - 1) -> int | None:
    """A count or an id typed as plain digits, or None. "²" passes str.isdigit() but not int(),
    and a number past Postgres's bigint can name no row (the database would refuse the query)."""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if number <= maximum else None


def checkbox(data: dict[str, Any], name: str) -> bool:
    """Browsers send 'on' for a ticked box and nothing for an unticked one."""
    return text(data, name).lower() in {"on", "true", "1", "yes"}


class Errors(dict[str, list[str]]):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)

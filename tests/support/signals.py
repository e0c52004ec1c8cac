"""Live events are signals (DESIGN §6): helpers to check that an event carries data, not HTML,
and that the page holds an element which re-fetches its own block when that event arrives."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select

from app.events.models import OutboxEvent


class _Triggers(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if (named.get("hx-trigger") or "").startswith("sse:"):
            self.found.append(named)


def refresh_url(html: str, event: str) -> str:
    """The `hx-get` address of the element that refreshes itself on `event`; fails when no
    element listens for it (the page would stop updating live) or one still takes pushed HTML."""
    parser = _Triggers()
    parser.feed(html)
    listening = [attrs for attrs in parser.found if attrs.get("hx-trigger") == f"sse:{event}"]
    assert listening, f"no element re-fetches itself on the live event {event!r}"
    assert f'sse-swap="{event}"' not in html, f"{event!r} is still swapped in as pushed HTML"
    url = listening[0].get("hx-get")
    assert url, f"the element listening for {event!r} has no hx-get"
    return url


async def signals(db, user_id: int, event: str) -> list[Any]:
    """The JSON data of every `event` published to `user_id`, oldest first; none of it is HTML."""
    rows = (
        await db.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.user_id == user_id, OutboxEvent.event == event)
            .order_by(OutboxEvent.id)
        )
    ).all()
    data = [json.loads(row.data) for row in rows]
    for row in rows:
        assert "<" not in row.data, f"{event!r} carries HTML: {row.data[:80]!r}"
    return data

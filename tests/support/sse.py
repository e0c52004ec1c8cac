"""A small SSE client over httpx streaming that exposes ids, events, data and comments."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx


@dataclass
class SSEMessage:
    event: str = "message"
    data: str = ""
    id: str | None = None
    comments: list[str] = field(default_factory=list)


class SSEStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self, timeout: float = 10.0, *, skip_comments: bool = True) -> SSEMessage:
        return await asyncio.wait_for(self._next(skip_comments), timeout)

    async def _next(self, skip_comments: bool) -> SSEMessage:
        message = SSEMessage()
        data_lines: list[str] = []
        has_fields = False
        async for line in self._lines:
            if line == "":
                if has_fields:
                    message.data = "\n".join(data_lines)
                    return message
                if message.comments and not skip_comments:
                    return message
                message = SSEMessage()
                continue
            if line.startswith(":"):
                comment = line[1:].strip()
                self.comments.append(comment)
                message.comments.append(comment)
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data_lines.append(value)
                has_fields = True
            elif name == "event":
                message.event = value
                has_fields = True
            elif name == "id":
                message.id = value
                has_fields = True
        raise EOFError("stream closed")

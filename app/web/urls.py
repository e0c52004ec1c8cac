"""Paths from route names, for code that has no request at hand (services writing e-mails and events)."""

from __future__ import annotations

from functools import cache
from typing import Any

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend


@cache
def _route_table() -> Litestar:
    # Only the route map: no middleware or lifespan, so building it opens nothing. Handlers are
    # checked against the dependencies they ask for, so they are all provided (channels in memory).
    from app.routes import dependencies, route_handlers

    channels = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    return Litestar(
        route_handlers=route_handlers(dev=True), dependencies=dependencies(), plugins=[channels], openapi_config=None
    )


def path_for(name: str, **params: Any) -> str:
    """The path of the route called `name` ("contracts:detail", contract_id=7 -> "/contracts/7").
    The same answer as `request.app.route_reverse` and `url_for` in templates."""
    return _route_table().route_reverse(name, **params)

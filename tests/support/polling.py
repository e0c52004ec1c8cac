"""Waiting in a test for something the worker or a webhook does in the background."""

from __future__ import annotations

import asyncio


async def wait_for(check, *, seconds: float = 20.0, what: str = "the condition"):
    """Poll `check()` (an async callable) until it returns something truthy, and return that."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        await asyncio.sleep(0.05)

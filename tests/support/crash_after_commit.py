"""A web process that dies (SIGKILL) the moment a request's transaction commits, before its
dispatcher hands anything to the queue: the crash between commit and dispatch, for real.

    python -m tests.support.crash_after_commit EMAIL PASSWORD URL FORM_JSON

The app runs with its lifespan (dispatcher and all), signs EMAIL in, then posts FORM_JSON to URL.
The kill is registered after sign-in, so it is the posted change's commit that ends the process.
Exit status 3 means the process was not killed (nothing was committed with a side effect)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(email: str, password: str, url: str, form: dict[str, str]) -> None:
    from app.asgi import create_app
    from app.config import load_settings
    from app.events.services import on_outbox_commit
    from tests.conftest import lifespan_of, web_client

    application = create_app(load_settings())
    async with lifespan_of(application), web_client(application) as client:
        await client.sign_in(email, password)
        await client.csrf_token()
        # Run after the dispatcher's own nudge, which only sets an event: the process is gone
        # before the dispatcher's task gets a turn.
        on_outbox_commit(_die)
        response = await client.post_form(url, form)
        print(f"not killed: {response.status_code}", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])))

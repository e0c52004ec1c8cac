"""`make dev`: embedded services, migrations, demo data, then web + worker in one process."""

from __future__ import annotations

import asyncio
import os
import signal

import uvicorn

from app.config import data_dir, load_settings
from app.mail.catcher import MailCatcher
from app.platform.embedded import services_for
from app.platform.migrate import upgrade


def run_dev(port: int, host: str = "127.0.0.1") -> None:
    data = data_dir()
    # SIGTERM ends the process like Ctrl-C does, so every `finally` below runs.
    signal.signal(signal.SIGTERM, _interrupt)
    with services_for(data):
        catcher = None
        if not os.environ.get("SMTP_URL"):
            catcher = MailCatcher(data / "mail")
            catcher.start()
            os.environ["SMTP_URL"] = catcher.url
        os.environ.setdefault("RUN_WORKER_IN_PROCESS", "1")
        os.environ.setdefault("PORT", str(port))
        try:
            settings = load_settings()
            upgrade(settings)
            asyncio.run(_seed(settings))
            from app.asgi import create_app

            print(f"\n  Pactline is running at http://{host}:{port}  (Ctrl-C stops everything)\n", flush=True)
            uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", lifespan="on")
        finally:
            if catcher is not None:
                catcher.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


async def _seed(settings) -> None:
    from app.platform.resources import Resources
    from app.platform.seed import demo_seed

    resources = Resources.create(settings)
    try:
        await demo_seed(resources)
    finally:
        await resources.close()

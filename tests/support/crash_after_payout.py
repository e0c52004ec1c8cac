"""A payout job that dies (SIGKILL) the moment the provider has accepted the payout, before the
ledger and the payout's row hear of it: the crash between "payout requested at the provider" and
"ledger updated", for real.

    python -m tests.support.crash_after_payout PAYOUT_ID

Runs the app's own `send` (what the `send_payout` job runs) with the app's settings against the
sandbox provider, wrapped so that its process kills itself as soon as `create_payout` returns.
Exit status 3 means the process was not killed (the provider was never asked)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys


class KilledAfterCreatePayout:
    """The real provider; its process dies right after the provider accepted a payout."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.name = inner.name

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def create_payout(self, **kwargs):
        found = await self._inner.create_payout(**kwargs)
        print(f"the provider accepted {found.id}; dying", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        return found


async def main(payout_id: int) -> None:
    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker
    from app.payments.sandbox import SandboxProvider
    from app.payouts.services import send

    settings = load_settings()
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    result = await send(sessionmaker, KilledAfterCreatePayout(SandboxProvider(sessionmaker)), payout_id)
    print(f"not killed: {result}", file=sys.stderr)
    await engine.dispose()
    sys.exit(3)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

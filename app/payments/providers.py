"""Which payment provider the app talks to: PAYMENTS_PROVIDER, read once per call site."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import ConfigurationError, Settings
from app.payments.provider import PaymentProvider
from app.payments.sandbox import SandboxProvider


def get_provider(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> PaymentProvider:
    """The configured provider. Only the sandbox exists so far; Stripe is issue 15, and a
    provider that does not exist is refused rather than quietly replaced by the sandbox."""
    if settings.payments_provider == "sandbox":
        return SandboxProvider(sessionmaker)
    raise ConfigurationError(
        f"PAYMENTS_PROVIDER={settings.payments_provider!r} is not available: this version takes payments "
        "only through the sandbox (PAYMENTS_PROVIDER=sandbox); Stripe comes with issue 15"
    )

"""Which payment provider the app talks to: PAYMENTS_PROVIDER, read once per call site."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import ConfigurationError, Settings
from app.payments.provider import PaymentProvider
from app.payments.sandbox import SandboxProvider
from app.payments.stripe import StripeProvider


def get_provider(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> PaymentProvider:
    """The configured provider: the sandbox (PAYMENTS_PROVIDER=sandbox) or Stripe
    (PAYMENTS_PROVIDER=stripe, talking to STRIPE_API_BASE). A provider that does not exist is
    refused rather than quietly replaced by the sandbox."""
    if settings.payments_provider == "sandbox":
        return SandboxProvider(sessionmaker)
    if settings.payments_provider == "stripe":
        return StripeProvider(settings)
    raise ConfigurationError(
        f"PAYMENTS_PROVIDER={settings.payments_provider!r} is not available: choose sandbox or stripe"
    )

"""Database engine, session factory, declarative base and the request session dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import BigInteger, DateTime, MetaData, func
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.config import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True), int: BigInteger}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


def make_engine(settings: Settings, **kwargs) -> AsyncEngine:
    options = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
    options.update(kwargs)
    return create_async_engine(settings.async_database_url, **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """Litestar dependency: one session per request. Services commit explicitly; anything
    left uncommitted when the handler returns is rolled back."""
    async with state.sessionmaker() as session:
        yield session


def load_models() -> None:
    """Import every feature's models so Base.metadata is complete (Alembic, tests)."""
    import app.accounts.models  # noqa: F401
    import app.audit.models  # noqa: F401
    import app.companies.models  # noqa: F401
    import app.contracts.models  # noqa: F401
    import app.conversations.models  # noqa: F401
    import app.escrow.models  # noqa: F401
    import app.events.models  # noqa: F401
    import app.files.models  # noqa: F401
    import app.invoices.models  # noqa: F401
    import app.leads.models  # noqa: F401
    import app.marketplace.models  # noqa: F401
    import app.notifications.models  # noqa: F401
    import app.payments.models  # noqa: F401
    import app.payouts.models  # noqa: F401
    import app.profiles.models  # noqa: F401
    import app.worker.models  # noqa: F401


# Handlers ask for the request's session by name: `db: DB`.
DB = NamedDependency[AsyncSession]

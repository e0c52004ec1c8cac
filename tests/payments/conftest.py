"""Payments tests: checkouts of the sandbox provider, and control over where its webhooks go."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from app.money import Money
from app.payments import tasks
from app.payments.models import SandboxEvent
from app.payments.sandbox import SandboxProvider


@pytest.fixture
def provider(app) -> SandboxProvider:
    return SandboxProvider(app.state.sessionmaker)


async def new_checkout(provider: SandboxProvider, payer, *, amount: int = 120_000, return_url: str = "/dashboard"):
    return await provider.create_checkout(
        reference=f"fund_test_{payer.id}",
        amount=Money(amount, "EUR"),
        description="Escrow for Shop website: “Design”",
        payer_user_id=payer.id,
        return_url=return_url,
    )


class Recorder(httpx.AsyncBaseTransport):
    """Passes every request on to `inner` and keeps what was sent and answered."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[httpx.Request, bytes, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        self.sent.append((request, body, response.status_code))
        return response


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def webhooks_through():
    """`webhooks_through(transport)` for this test; the in-process app again afterwards."""
    replaced = []

    def use(transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        previous = tasks.send_webhooks_through(transport)
        if not replaced:
            replaced.append(previous)
        return transport

    yield use
    if replaced:
        tasks.send_webhooks_through(replaced[0])


@pytest.fixture
def held_webhooks(webhooks_through):
    """The app is unreachable for the sandbox's sender: the test delivers events itself."""
    webhooks_through(httpx.MockTransport(unreachable))


async def events_of(db, payment_id: str) -> list[SandboxEvent]:
    db.expire_all()
    return list((await db.scalars(select(SandboxEvent).where(SandboxEvent.object_id == payment_id))).all())


async def delivered(db, payment_id: str, *, seconds: float = 15.0) -> SandboxEvent:
    """Wait for the worker to deliver the payment's event (the outbox, then the job)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        events = await events_of(db, payment_id)
        done = [e for e in events if e.delivered_at is not None]
        if done:
            return done[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no event of {payment_id} delivered in {seconds} s: {events}")
        await db.rollback()
        await asyncio.sleep(0.05)


async def event_delivered(db, event_id: str, *, seconds: float = 15.0) -> SandboxEvent:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        db.expire_all()
        event = await db.get(SandboxEvent, event_id)
        if event is not None and event.delivered_at is not None:
            return event
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"event {event_id} not delivered in {seconds} s: {event}")
        await db.rollback()
        await asyncio.sleep(0.05)

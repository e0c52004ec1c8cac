"""Webhook to live update: the time from a signed sandbox webhook's arrival at the web process to
the contractor's open event stream showing the contract changed (p50/p99).

Against the real web process of the run (bench/servers.py): the contractor signs in through the
sign-in form and keeps `GET /events` open; the client's milestones get a funding and a checkout
through the real verbs and the sandbox provider, the sandbox payment is paid, and then the bench
POSTs the signed `payment.succeeded` webhook to `/webhooks/sandbox` itself — the clock
starts just before that POST and stops when `contract-<id>` arrives on the contractor's stream.
Deliveries are one at a time, a short pause apart, rotating over the contracts so that a late
event of one contract is never taken for the next delivery's."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.escrow import percentile_ms
from bench.scenarios import CSRF_COOKIE, CSRF_HEADER

DELIVERIES = 200
CONTRACTS = 40
MILESTONES = 5  # per contract: CONTRACTS × MILESTONES ≥ DELIVERIES
PAUSE = 0.02  # seconds between deliveries
TIMEOUT = 10.0  # for one event to arrive
PASSWORD = "bench webhook password 2026"  # noqa: S105 — a bench account on a throwaway database


def _cookies(response: httpx.Response) -> dict[str, str]:
    """The cookies a response sets. Read by hand: production cookies are Secure, and httpx keeps
    Secure cookies away from the plain http:// the bench server answers on."""
    from http.cookies import SimpleCookie

    jar: dict[str, str] = {}
    for value in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(value)
        jar.update({name: morsel.value for name, morsel in parsed.items()})
    return jar


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> str:
    """Sign in through the form, as a browser does; returns the Cookie header of the session."""
    page = await http.get("/login", headers={"Accept": "text/html"})
    jar = _cookies(page)
    token = jar.get(CSRF_COOKIE)
    if page.status_code != 200 or not token:
        raise RuntimeError(f"GET /login answered {page.status_code} without a CSRF cookie")
    answer = await http.post(
        "/login",
        content=urlencode({"email": email, "password": password, "_csrf_token": token}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            CSRF_HEADER: token,
        },
    )
    if answer.status_code != 303:
        raise RuntimeError(f"signing in as {email} answered {answer.status_code}")
    jar |= _cookies(answer)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


async def _parties(sessions):
    from app.accounts.models import Role
    from app.accounts.services import create_user

    async with sessions() as db, db.begin():
        client = await create_user(db, email="bench.webhook.client@pactline.test", name="Bench Webhook Client",
                                   role=Role.client, password=PASSWORD, verified=True)  # fmt: skip
        contractor = await create_user(db, email="bench.webhook.contractor@pactline.test",
                                       name="Bench Webhook Contractor", role=Role.contractor, password=PASSWORD,
                                       verified=True)  # fmt: skip
    return client, contractor


async def _contracts(sessions, settings, client, contractor) -> list[tuple[int, list[int]]]:
    from bench.escrow import Pair, active_contract

    pair = Pair(client, contractor)
    return [await active_contract(sessions, settings, pair, 1000 + n) for n in range(CONTRACTS)]


def _order(contracts: list[tuple[int, list[int]]]) -> list[tuple[int, int]]:
    """(contract id, milestone id) per delivery: each contract's first milestone, then each one's second…"""
    order = [(cid, ids[k]) for k in range(MILESTONES) for cid, ids in contracts]
    return order[:DELIVERIES]


class _Listener:
    """Reads the contractor's event stream (server-sent events, parsed line by line) and resolves
    the waiter of an event name with the moment that event's blank line arrived."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.connected = asyncio.get_running_loop().create_future()
        self.seen = 0

    def expect(self, event: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiters[event] = future
        return future

    async def run(self) -> None:
        event, fields = "message", False
        async for line in self.response.aiter_lines():
            if line.startswith(":"):
                if not self.connected.done():
                    self.connected.set_result(True)  # the stream's first comment: subscribed
                continue
            if line == "":
                if fields:
                    arrived = time.perf_counter()
                    self.seen += 1
                    waiter = self.waiters.pop(event, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(arrived)
                event, fields = "message", False
                continue
            name, _, value = line.partition(":")
            if name == "event":
                event = value.strip()
            fields = True


async def _payments(sessions, settings, client, order: list[tuple[int, int]]) -> list[tuple[int, Any]]:
    """(contract id, the sandbox's payment event) per delivery: the client's funding of the
    milestone through the verb, its checkout at the sandbox provider, paid with the test card that
    succeeds (what the hosted checkout page does) — which is when the sandbox writes its event."""
    from sqlalchemy import select

    from app.escrow import funding
    from app.escrow.models import Funding
    from app.payments import sandbox
    from app.payments.models import SandboxEvent
    from app.payments.providers import get_provider

    provider = get_provider(settings, sessions)
    deliveries = []
    for contract_id, milestone_id in order:
        async with sessions() as db, db.begin():
            opened = await funding.open_funding(db, contract_id, client, [milestone_id], provider=provider.name)
        await funding.start_checkout(sessions, provider, opened.id)
        async with sessions() as db, db.begin():
            payment_id = await db.scalar(select(Funding.provider_payment_id).where(Funding.id == opened.id))
            await sandbox.pay(db, await sandbox.checkout_for(db, payment_id, client.id), sandbox.SUCCEEDS)
        async with sessions() as db:
            event = await db.scalar(select(SandboxEvent).where(SandboxEvent.object_id == payment_id))
        deliveries.append((contract_id, event))
    return deliveries


def _webhook(http: httpx.AsyncClient, settings, event) -> httpx.Request:
    """The sandbox's webhook for `event`, signed now with the secret from the settings, exactly as
    its sender (app/payments/tasks.py) posts it."""
    from app.payments.tasks import webhook_request
    from app.web.urls import path_for

    body, headers = webhook_request(settings, event)
    return http.build_request("POST", path_for("webhooks:sandbox"), content=body, headers=headers)


async def _measure(base_url: str, env: dict[str, str]) -> dict[str, Any]:
    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker

    settings = load_settings(env)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    latencies: list[float] = []
    answers: list[float] = []
    statuses: dict[str, int] = {}
    missed = 0
    try:
        client, contractor = await _parties(sessions)
        contracts = await _contracts(sessions, settings, client, contractor)
        deliveries = await _payments(sessions, settings, client, _order(contracts))
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=30) as http,
            httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30, read=None)) as stream_http,
        ):
            cookie = await sign_in(http, contractor.email, PASSWORD)
            headers = {"Cookie": cookie, "Accept": "text/event-stream"}
            async with stream_http.stream("GET", "/events", headers=headers) as stream:
                if stream.status_code != 200:
                    raise RuntimeError(f"GET /events answered {stream.status_code}")
                listener = _Listener(stream)
                reader = asyncio.create_task(listener.run())
                try:
                    await asyncio.wait_for(listener.connected, TIMEOUT)
                    for contract_id, delivery in deliveries:
                        request = _webhook(http, settings, delivery)  # signed before the clock starts
                        waiter = listener.expect(f"contract-{contract_id}")
                        started = time.perf_counter()
                        answer = await http.send(request)
                        answered = time.perf_counter()
                        key = str(answer.status_code)
                        statuses[key] = statuses.get(key, 0) + 1
                        try:
                            arrived = await asyncio.wait_for(waiter, TIMEOUT)
                        except TimeoutError:
                            missed += 1
                            continue
                        latencies.append(arrived - started)
                        answers.append(answered - started)
                        await asyncio.sleep(PAUSE)
                finally:
                    reader.cancel()
        funded = await _funded(sessions, [mid for _, mid in _order(contracts)])
    finally:
        await engine.dispose()
    return {
        "deliveries": len(deliveries),
        "statuses": statuses,
        "live_updates": len(latencies),
        "missed": missed,
        "milestones_funded": funded,
        "p50_ms": percentile_ms(sorted(latencies), 50),
        "p99_ms": percentile_ms(sorted(latencies), 99),
        "max_ms": max(latencies) * 1000 if latencies else None,
        "answer_p50_ms": percentile_ms(sorted(answers), 50),
        "answer_p99_ms": percentile_ms(sorted(answers), 99),
        "pause_s": PAUSE,
    }


async def _funded(sessions, milestone_ids: list[int]) -> int:
    from sqlalchemy import func, select

    from app.contracts.models import Milestone, MilestoneStatus

    async with sessions() as db:
        return int(
            await db.scalar(
                select(func.count()).where(Milestone.id.in_(milestone_ids), Milestone.status == MilestoneStatus.funded)
            )
            or 0
        )


def measure(base_url: str, env: dict[str, str]) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would bury the figures
    return asyncio.run(_measure(base_url, env))


def describe(result: dict[str, Any]) -> str:
    r = result
    if not r["live_updates"]:
        return f"webhook → live update: none of {r['deliveries']} deliveries reached the contractor's stream"
    answered = ", ".join(f"HTTP {status} ×{n}" for status, n in sorted(r["statuses"].items()))
    return (
        f"sandbox webhook → contractor's live update (POST /webhooks/sandbox signed, to `contract-<id>` on the "
        f"contractor's open /events), {r['deliveries']} deliveries one at a time: p50 {r['p50_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms; the webhook's own answer p50 "
        f"{r['answer_p50_ms']:.1f} ms, p99 {r['answer_p99_ms']:.1f} ms ({answered}); "
        f"{r['live_updates']} updates seen, {r['missed']} missed, {r['milestones_funded']} milestones funded"
    )

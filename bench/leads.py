"""Lead intake end to end: POST /api/leads → worker → draft job. Measures leads per second
through the whole pipeline and the time from arrival to published (target: 95% within 1 s)."""

from __future__ import annotations

import asyncio
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.servers import ROOT, UvicornServer, _die_with_parent, base_environment

LEADS = 300  # burst: as fast as the API takes them, for throughput
PACED = 100  # then at a steady rate well under capacity, for the time to publish
PACED_RATE = 10.0  # leads per second
CONCURRENCY = 8


async def _make_key(env: dict[str, str]) -> str:
    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.companies.forms import read_company
    from app.companies.services import create_company, membership_of
    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker
    from app.leads.services import create_api_key

    engine = make_engine(load_settings(env))
    async with make_sessionmaker(engine)() as db, db.begin():
        owner = await create_user(
            db, email="bench.leads@pactline.test", name="Bench Owner", role=Role.client, password=None, verified=True
        )
        form = {
            "name": "Bench Co",
            "registration_number": "B1",
            "country": "US",
            "vat_id": "",
            "address": "1 Bench Road",
        }
        await create_company(db, owner, read_company(form))
        _, raw = await create_api_key(db, await membership_of(db, owner), owner, "bench")
    await engine.dispose()
    return raw


async def _post_all(url: str, key: str, numbers: range, rate: float | None = None) -> int:
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)
    started = time.monotonic()

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            n = queue.get_nowait()
            if rate:
                await asyncio.sleep(max(0.0, started + (n - numbers.start) / rate - time.monotonic()))
            lead = {
                "name": f"Buyer {n}",
                "email": f"buyer{n}@example.test",  # distinct people: nothing is a duplicate
                "title": f"Website for shop number {n}",
                "description": f"We need a small website for shop {n}, budget around €{500 + n}. Call +49 170 {n:07d}.",
            }
            response = await http.post("/api/leads", json=lead)
            errors += response.status_code != 202

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))
    return errors


async def _timings(env: dict[str, str], count: int, deadline: float, *, after_id: int = 0) -> list[tuple[float, float]]:
    from sqlalchemy import func, select

    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker
    from app.leads.models import Lead

    engine = make_engine(load_settings(env))
    try:
        async with make_sessionmaker(engine)() as db:
            while time.monotonic() < deadline:
                done = await db.scalar(
                    select(func.count()).select_from(Lead).where(Lead.id > after_id, Lead.processed_at.is_not(None))
                )
                if done >= count:
                    break
                await asyncio.sleep(0.2)
            rows = (
                await db.execute(
                    select(Lead.created_at, Lead.processed_at).where(Lead.id > after_id, Lead.processed_at.is_not(None))
                )
            ).all()
        return [(created.timestamp(), processed.timestamp()) for created, processed in rows]
    finally:
        await engine.dispose()


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`pactline worker`, as the Procfile runs it (its own session, dies with us)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env={**base_environment(), **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def measure(app: UvicornServer, env: dict[str, str], results: Path, count: int = LEADS) -> dict[str, Any]:
    """`app` must run with LEADS_API_PER_MINUTE high enough for `count` leads (runner.app_environment)."""
    key = asyncio.run(_make_key(env))
    worker = _start_worker(env, results / "worker.log")
    try:
        time.sleep(2)  # the worker connects and registers before the first lead arrives
        burst_errors = asyncio.run(_post_all(app.url, key, range(count)))
        burst = asyncio.run(_timings(env, count - burst_errors, time.monotonic() + 120))
        paced_errors = asyncio.run(_post_all(app.url, key, range(count, count + PACED), rate=PACED_RATE))
        paced = asyncio.run(_timings(env, PACED - paced_errors, time.monotonic() + 60, after_id=count))
    finally:
        _stop(worker)
    return {
        "burst": _summary(burst, count, burst_errors),
        "paced": _summary(paced, PACED, paced_errors) | {"rate": PACED_RATE},
    }


def _summary(timings: list[tuple[float, float]], sent: int, errors: int) -> dict[str, Any]:
    if not timings:
        return {"leads": sent, "processed": 0, "errors": errors}
    latencies = sorted(processed - created for created, processed in timings)
    span = max(p for _, p in timings) - min(c for c, _ in timings)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "leads": sent,
        "processed": len(timings),
        "errors": errors,
        "leads_per_s": len(timings) / span if span > 0 else float("nan"),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "within_1s": sum(1 for value in latencies if value <= 1.0) / len(latencies),
    }


def describe(result: dict[str, Any]) -> str:
    lines = []
    for phase, label in (("burst", "as fast as possible"), ("paced", f"at {PACED_RATE:g} leads/s")):
        r = result[phase]
        if not r.get("processed"):
            lines.append(f"lead intake, {label}: none of {r['leads']} leads was processed ({r['errors']} rejected)")
            continue
        lines.append(
            f"lead intake (API → worker → draft job), {label}: {r['processed']}/{r['leads']} leads, "
            f"{r['leads_per_s']:.1f} leads/s end to end, arrival→published p50 {r['p50_ms']:.0f} ms, "
            f"p95 {r['p95_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, {r['within_1s'] * 100:.1f}% within 1 s, "
            f"{r['errors']} rejected"
        )
    return "\n".join(lines)

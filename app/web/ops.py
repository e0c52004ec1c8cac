"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging

from litestar import Controller, Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from sqlalchemy import func, select, text

from app.worker.models import FailedJob

QUEUE_DEPTH = Gauge("pactline_job_queue_depth", "Jobs waiting in the queue")
JOB_FAILURES = Gauge("pactline_job_failures", "Jobs kept as failed after all retries, not yet re-run")

log = logging.getLogger("pactline.ops")


async def _check_postgres(request: Request) -> None:
    async with request.app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check_redis(request: Request) -> None:
    await request.app.state.redis.ping()


class OpsController(Controller):
    path = "/"
    opt = {"skip_session": True, "skip_prometheus": True}

    @get("/health", name="ops:health", sync_to_thread=False)
    def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", name="ops:ready")
    async def ready(self, request: Request) -> Response:
        checks = {"postgres": _check_postgres, "redis": _check_redis}
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(request), timeout=3)
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001 — any failure means not ready
                results[name] = f"unavailable: {type(exc).__name__}"
        failing = [name for name, result in results.items() if result != "ok"]
        body = {"status": "ready" if not failing else "unavailable", "checks": results}
        if failing:
            body["failing"] = failing
        return Response(body, status_code=503 if failing else 200, headers={"Cache-Control": "no-store"})

    @get("/metrics", name="ops:metrics")
    async def metrics(self, request: Request) -> Response:
        state = request.app.state
        try:
            QUEUE_DEPTH.set(await asyncio.wait_for(state.queue.count("queued"), timeout=2))
        except Exception as exc:  # noqa: BLE001 — a metric we cannot read is left as it was
            log.warning("queue depth unavailable: %s", exc)
        try:
            async with state.sessionmaker() as session:
                JOB_FAILURES.set(
                    await session.scalar(
                        select(func.count()).select_from(FailedJob).where(FailedJob.retried_at.is_(None))
                    )
                    or 0
                )
        except Exception as exc:  # noqa: BLE001
            log.warning("failed-job count unavailable: %s", exc)
        return Response(
            generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
        )

"""/health, /ready, /metrics and request ids."""

import asyncio
import contextlib
from dataclasses import replace

import httpx

from app.asgi import create_app
from tests.conftest import lifespan_of


@contextlib.asynccontextmanager
async def running(settings):
    application = create_app(settings)
    async with lifespan_of(application):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http:
            yield http


async def test_health_is_json_and_needs_nothing(anonymous):
    response = await anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "set-cookie" not in response.headers


async def test_ready_when_postgres_and_redis_answer(anonymous):
    response = await anonymous.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_ready_names_redis_when_it_is_down_and_pages_still_render(settings, tmp_path):
    broken = replace(settings, redis_url=f"unix://{tmp_path}/nowhere.sock?db=0", run_worker_in_process=False)
    async with running(broken) as http:
        ready = await http.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["redis"]
        assert ready.json()["checks"]["postgres"] == "ok"

        landing = await http.get("/")
        assert landing.status_code == 200
        assert "Pactline" in landing.text


async def test_ready_names_postgres_when_it_is_down(settings):
    broken = replace(
        settings,
        database_url="postgresql://postgres@/nothing?host=/nonexistent-socket-dir",
        run_worker_in_process=False,
    )
    async with running(broken) as http:
        ready = await http.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["postgres"]


async def test_every_response_carries_a_request_id(anonymous):
    first = await anonymous.get("/health")
    second = await anonymous.get("/nope-not-here")
    assert len(first.headers["x-request-id"]) >= 8
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    echoed = await anonymous.get("/health", headers={"X-Request-ID": "trace-abc-12345"})
    assert echoed.headers["x-request-id"] == "trace-abc-12345"
    hostile = await anonymous.get("/health", headers={"X-Request-ID": "<script>"})
    assert hostile.headers["x-request-id"] != "<script>"


async def test_metrics_report_requests_by_route_and_platform_gauges(anonymous):
    await anonymous.get("/")
    await anonymous.get("/login")
    response = await anonymous.get("/metrics")
    assert response.status_code == 200
    body = response.text
    assert "pactline_requests_total{" in body and 'path="/login"' in body
    assert "pactline_request_duration_seconds_bucket" in body
    assert "pactline_sse_connections_open" in body
    assert "pactline_job_queue_depth" in body
    assert "pactline_job_failures" in body


async def test_live_stream_answers_503_with_retry_after_while_redis_is_down(settings, tmp_path):
    broken = replace(settings, redis_url=f"unix://{tmp_path}/nowhere.sock?db=0", run_worker_in_process=False)
    async with running(broken) as http:
        response = await asyncio.wait_for(http.get("/events"), timeout=10)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"


async def test_access_logs_are_json_lines_with_the_request_id(settings, capfd):
    import json

    from app.platform.logging import configure_logging

    chatty = replace(settings, log_level="INFO", log_json=True, run_worker_in_process=False)
    try:
        async with running(chatty) as http:
            response = await http.get("/health")
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
        access = [line for line in lines if line.get("event") == "request" and line.get("path") == "/health"]
        assert access, lines
        assert access[0]["request_id"] == response.headers["x-request-id"]
        assert access[0]["status"] == 200 and "duration_ms" in access[0]
    finally:
        configure_logging(settings.log_level, json=settings.log_json)

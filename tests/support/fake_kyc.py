"""A hosted identity-verification provider on 127.0.0.1 for tests (Veriff/Onfido stand-in):
sessions over its HTTP API with an API key, a hosted page, and signed decision webhooks.

The test decides the outcome (`fake.decide(session_id, "approved" | "declined", reason)`) and
gets back the webhook the provider would send (`fake.webhook(session_id)` → body, headers)."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath

from app.platform.signatures import sign

API_KEY = "fake-kyc-api-key"
WEBHOOK_SECRET = "fake-kyc-webhook-secret-0123456789"  # noqa: S105 — test-only shared secret


@dataclass
class FakeKYC:
    url: str = ""
    sessions: dict[str, dict] = field(default_factory=dict)
    available: bool = True

    def build_app(self) -> Litestar:
        fake = self

        def authorized(request: Request) -> bool:
            return request.headers.get("x-api-key") == API_KEY

        @post("/v1/sessions", status_code=201)
        async def create(request: Request) -> Response:
            if not authorized(request):
                return Response({"error": "unauthorized"}, status_code=401)
            if not fake.available:
                return Response({"error": "maintenance"}, status_code=503)
            data = await request.json()
            session_id = "ses_" + secrets.token_hex(8)
            fake.sessions[session_id] = {"id": session_id, "status": "created", "reason": None, **data}
            return Response({"id": session_id, "url": f"{fake.url}/hosted/{session_id}"}, status_code=201)

        @get("/v1/sessions/{session_id:str}")
        async def read(request: Request, session_id: FromPath[str]) -> Response:
            if not authorized(request):
                return Response({"error": "unauthorized"}, status_code=401)
            session = fake.sessions.get(session_id)
            if session is None:
                return Response({"error": "not found"}, status_code=404)
            return Response({"id": session_id, "status": session["status"], "reason": session["reason"]})

        @get("/hosted/{session_id:str}")
        async def hosted(session_id: FromPath[str]) -> Response:
            return Response(f"<h1>Verify your identity</h1><p>Session {session_id}</p>", media_type="text/html")

        return Litestar([create, read, hosted], openapi_config=None)

    def decide(self, session_id: str, status: str, reason: str | None = None) -> None:
        self.sessions[session_id].update(status=status, reason=reason)

    def webhook(
        self,
        session_id: str,
        *,
        event_id: str | None = None,
        secret: str = WEBHOOK_SECRET,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {"id": event_id or "evt_" + secrets.token_hex(8), "type": "session.decided", "session_id": session_id}
        ).encode()
        return body, {"Content-Type": "application/json", "X-KYC-Signature": sign(secret, body, timestamp)}

    def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.build_app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-kyc", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake KYC provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

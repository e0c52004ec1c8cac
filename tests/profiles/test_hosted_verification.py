"""KYC, hosted adapter: create a session, redirect to the provider, act on its signed webhook.
Bad signatures change nothing (400); a replayed event changes nothing."""

import dataclasses
import json
import time

import pytest
from sqlalchemy import func, select

from app.events.models import OutboxEvent
from app.profiles.models import ContractorProfile, KycCheck, KycWebhookEvent
from tests.profiles.helpers import submit_kyc
from tests.support.fake_kyc import API_KEY, WEBHOOK_SECRET, FakeKYC
from tests.support.notifications import notifications_of


@pytest.fixture(scope="session")
def fake_kyc():
    provider = FakeKYC()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def hosted(app, fake_kyc):
    """The app configured with the hosted adapter (KYC_PROVIDER=hosted) for one test."""
    original = app.state.settings
    app.state.settings = dataclasses.replace(
        original,
        kyc_provider="hosted",
        kyc_provider_url=fake_kyc.url,
        kyc_provider_api_key=API_KEY,
        kyc_webhook_secret=WEBHOOK_SECRET,
    )
    fake_kyc.available = True
    yield fake_kyc
    app.state.settings = original


async def _start(contractor) -> str:
    response = await contractor.post_form("/profile/verification/start")
    assert response.status_code == 303, response.text[:300]
    return response.headers["location"]


async def _status(db, user_id) -> str:
    profile = await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == user_id))
    await db.refresh(profile)
    return profile.kyc_status


async def test_starting_sends_the_contractor_to_the_provider_and_waits(hosted, contractor, db):
    page = await contractor.get("/profile/verification")
    assert "Start verification" in page.text and "Send for review" not in page.text
    location = await _start(contractor)
    check = await db.scalar(select(KycCheck))
    assert location == f"{hosted.url}/hosted/{check.provider_session_id}"
    assert hosted.sessions[check.provider_session_id]["reference"] == f"user-{contractor.user.id}"
    assert (check.method, check.status) == ("provider", "pending")
    assert await _status(db, contractor.user.id) == "pending"
    assert (await submit_kyc(contractor)).status_code == 404, "no document uploads with the hosted adapter"


async def test_a_signed_approval_verifies_once_and_a_replay_changes_nothing(hosted, contractor, anonymous, db):
    await _start(contractor)
    check = await db.scalar(select(KycCheck))
    hosted.decide(check.provider_session_id, "approved")
    body, headers = hosted.webhook(check.provider_session_id, event_id="evt_1")
    response = await anonymous.post("/webhooks/kyc", content=body, headers=headers)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert await _status(db, contractor.user.id) == "verified"
    live = await db.scalar(select(OutboxEvent).where(OutboxEvent.event == "kyc-status"))
    assert live.data == '{"status":"verified"}'
    assert 'data-kyc-status="verified"' in (await contractor.htmx("GET", "/profile/kyc-status")).text

    # The provider changes its mind and the same event is replayed: nothing moves.
    hosted.decide(check.provider_session_id, "declined", "Document expired")
    replay = await anonymous.post("/webhooks/kyc", content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    assert await _status(db, contractor.user.id) == "verified"
    assert await db.scalar(select(func.count()).select_from(KycWebhookEvent)) == 1
    # The contractor was notified once, in the webhook's transaction, of the approval.
    [row] = await notifications_of(db, contractor.user.id, "kyc.decided")
    assert row.title == "Your identity check is approved." and row.link == "/profile/verification"


async def test_a_declined_session_shows_the_reason_and_the_contractor_can_retry(hosted, contractor, anonymous, db):
    await _start(contractor)
    check = await db.scalar(select(KycCheck))
    hosted.decide(check.provider_session_id, "declined", "The selfie does not match the document.")
    body, headers = hosted.webhook(check.provider_session_id)
    assert (await anonymous.post("/webhooks/kyc", content=body, headers=headers)).status_code == 200
    assert await _status(db, contractor.user.id) == "rejected"
    page = await contractor.get("/profile/verification")
    assert "The selfie does not match the document." in page.text and "Start verification" in page.text
    await _start(contractor)
    assert await _status(db, contractor.user.id) == "pending"
    assert await db.scalar(select(func.count()).select_from(KycCheck)) == 2


@pytest.mark.parametrize(
    "problem", ["wrong secret", "tampered body", "old timestamp", "no header", "not json", "nested", "surrogate"]
)
async def test_a_bad_signature_is_400_and_nothing_changes(problem, hosted, contractor, anonymous, db):
    await _start(contractor)
    check = await db.scalar(select(KycCheck))
    hosted.decide(check.provider_session_id, "approved")
    if problem == "wrong secret":
        body, headers = hosted.webhook(check.provider_session_id, secret="not-the-secret")
    elif problem == "old timestamp":
        body, headers = hosted.webhook(check.provider_session_id, timestamp=int(time.time()) - 3600)
    else:
        body, headers = hosted.webhook(check.provider_session_id)
        if problem == "tampered body":
            body = body.replace(b"session.decided", b"session.decidedX")
        elif problem == "no header":
            headers.pop("X-KYC-Signature")
        elif problem in ("not json", "nested", "surrogate"):
            from app.platform.signatures import sign

            body = {
                "not json": b"not json",
                # Signed, but deeper than json.loads recurses, or with half a character no column can store.
                "nested": b"[" * 30_000,
                "surrogate": f'{{"id": "evt_\\udcff", "session_id": "{check.provider_session_id}"}}'.encode(),
            }[problem]
            headers["X-KYC-Signature"] = sign(WEBHOOK_SECRET, body)
    response = await anonymous.post("/webhooks/kyc", content=body, headers=headers)
    assert response.status_code == 400
    assert await _status(db, contractor.user.id) == "pending"
    assert await db.scalar(select(func.count()).select_from(KycWebhookEvent)) == 0


async def test_the_decision_comes_from_the_provider_not_the_webhook_body(hosted, contractor, anonymous, db):
    await _start(contractor)
    check = await db.scalar(select(KycCheck))
    # Signed but sent before the provider has decided: nothing changes yet.
    body, headers = hosted.webhook(check.provider_session_id)
    assert (await anonymous.post("/webhooks/kyc", content=body, headers=headers)).status_code == 200
    assert await _status(db, contractor.user.id) == "pending"
    assert json.loads(body)["session_id"] == check.provider_session_id


async def test_a_provider_outage_is_explained_and_nothing_is_started(hosted, contractor, db):
    hosted.available = False
    response = await contractor.post_form("/profile/verification/start")
    assert response.status_code == 409 and "not answering right now" in response.text
    assert await db.scalar(select(func.count()).select_from(KycCheck)) == 0
    assert await _status(db, contractor.user.id) == "unverified"


async def test_without_the_hosted_adapter_the_webhook_and_start_do_not_exist(contractor, anonymous):
    assert (await anonymous.post("/webhooks/kyc", content=b"{}")).status_code == 404
    assert (await contractor.post_form("/profile/verification/start")).status_code == 404


async def test_a_pending_contractor_cannot_open_a_second_provider_session(hosted, contractor, db):
    await _start(contractor)
    sessions = len(hosted.sessions)
    again = await contractor.post_form("/profile/verification/start")
    assert again.status_code == 409 and "already being reviewed" in again.text
    assert len(hosted.sessions) == sessions, "no session opened at the provider"
    assert await db.scalar(select(func.count()).select_from(KycCheck)) == 1

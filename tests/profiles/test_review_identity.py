"""The admin KYC queue: approve or reject with a reason; the contractor sees it live and may retry."""

import asyncio
import json

import pytest
from sqlalchemy import select

from app.accounts.models import AccountEvent
from app.audit.models import AuditEvent
from app.events.models import OutboxEvent
from app.profiles.models import ContractorProfile, KycCheck
from app.profiles.services import VerificationRequired, ensure_payout_allowed
from tests.profiles.helpers import submit_kyc
from tests.support.signals import refresh_url


async def _profile(db, user_id):
    profile = await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == user_id))
    await db.refresh(profile)
    return profile


async def test_the_queue_lists_pending_checks_with_their_documents(contractor, admin, db):
    empty = await admin.get("/admin/kyc")
    assert empty.status_code == 200 and "No identity checks waiting" in empty.text
    assert 'href="/admin/kyc"' in empty.text and "Identity checks" in empty.text
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    page = await admin.get("/admin/kyc")
    assert contractor.user.name in page.text and contractor.user.email in page.text
    assert f'href="/files/{check.id_document_file_id}"' in page.text
    assert f'src="/files/{check.selfie_file_id}"' in page.text
    assert (await admin.get(f"/files/{check.selfie_file_id}")).status_code == 200


@pytest.mark.parametrize("who", ["client", "contractor"])
async def test_the_queue_is_not_found_for_others(who, client, contractor):
    c = {"client": client, "contractor": contractor}[who]
    assert (await c.get("/admin/kyc")).status_code == 404
    assert (await c.post_form("/admin/kyc/1/approve")).status_code == 404


async def test_approving_verifies_the_contractor_and_tells_them_live(contractor, admin, db):
    await submit_kyc(contractor)
    status_url = refresh_url((await contractor.get("/profile")).text, "kyc-status")
    assert status_url == "/profile/kyc-status"
    assert "Being reviewed" in (await contractor.htmx("GET", status_url)).text
    check = await db.scalar(select(KycCheck))
    with pytest.raises(VerificationRequired):
        ensure_payout_allowed(await _profile(db, contractor.user.id))
    response = await admin.post_form(f"/admin/kyc/{check.id}/approve")
    assert response.status_code == 303 and response.headers["location"] == "/admin/kyc"
    profile = await _profile(db, contractor.user.id)
    assert profile.kyc_status == "verified"
    ensure_payout_allowed(profile)
    await db.refresh(check)
    assert check.status == "verified" and check.decided_by_id == admin.user.id
    live = await db.scalar(
        select(OutboxEvent).where(OutboxEvent.user_id == contractor.user.id, OutboxEvent.event == "kyc-status")
    )
    assert live is not None and json.loads(live.data) == {"status": "verified"}
    # The open profile page re-fetches its status card on that signal.
    card = await contractor.htmx("GET", status_url)
    assert card.status_code == 200 and 'data-kyc-status="verified"' in card.text and "<html" not in card.text
    assert refresh_url(card.text, "kyc-status") == status_url
    assert await db.scalar(select(AccountEvent).where(AccountEvent.kind == "kyc_approved"))
    link = await db.scalar(select(AuditEvent).where(AuditEvent.kind == "kyc_approved"))
    assert (link.actor_id, link.subject_type, link.subject_id) == (admin.user.id, "user", str(contractor.user.id))
    assert "Verified" in (await contractor.get("/profile")).text
    assert "No identity checks waiting" in (await admin.get("/admin/kyc")).text


async def test_rejecting_needs_a_reason_which_the_contractor_sees_and_they_can_retry(contractor, admin, db):
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    no_reason = await admin.post_form(f"/admin/kyc/{check.id}/reject", {"reason": " "})
    assert no_reason.status_code == 422 and "Say why, so the contractor knows what to fix." in no_reason.text
    assert (await _profile(db, contractor.user.id)).kyc_status == "pending"

    response = await admin.post_form(f"/admin/kyc/{check.id}/reject", {"reason": "The passport photo is blurry."})
    assert response.status_code == 303
    profile = await _profile(db, contractor.user.id)
    assert (profile.kyc_status, profile.kyc_reason) == ("rejected", "The passport photo is blurry.")
    page = await contractor.get("/profile/verification")
    assert "The passport photo is blurry." in page.text and "Try again" in page.text and "Send for review" in page.text
    assert refresh_url(page.text, "kyc-status") == "/profile/kyc-status?on=verification"
    card = await contractor.htmx("GET", refresh_url(page.text, "kyc-status"))
    assert "The passport photo is blurry." in card.text and "Try again" in card.text

    retry = await submit_kyc(contractor)
    assert retry.status_code == 303
    assert (await _profile(db, contractor.user.id)).kyc_status == "pending"
    statuses = (await db.scalars(select(KycCheck.status).order_by(KycCheck.id))).all()
    assert statuses == ["rejected", "pending"], "the rejected attempt stays as history"


async def test_a_decided_check_cannot_be_decided_again(contractor, admin, db):
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    await admin.post_form(f"/admin/kyc/{check.id}/approve")
    again = await admin.post_form(f"/admin/kyc/{check.id}/reject", {"reason": "Changed my mind"})
    assert again.status_code == 409 and "already decided" in again.text
    assert (await _profile(db, contractor.user.id)).kyc_status == "verified"
    assert (await admin.post_form("/admin/kyc/999999/approve")).status_code == 404


async def test_two_admins_deciding_at_once_one_wins_the_other_gets_409(contractor, admin, app, db):
    from app.accounts.models import Role
    from tests.conftest import persona

    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    async with persona(app, db, Role.admin, "second.admin@example.test") as second:
        approve, reject = await asyncio.gather(
            admin.post_form(f"/admin/kyc/{check.id}/approve"),
            second.post_form(f"/admin/kyc/{check.id}/reject", {"reason": "Expired document"}),
        )
    codes = sorted([approve.status_code, reject.status_code])
    assert codes == [303, 409]
    profile = await _profile(db, contractor.user.id)
    await db.refresh(check)
    winner = "verified" if approve.status_code == 303 else "rejected"
    assert profile.kyc_status == check.status == winner
    decisions = (
        await db.scalars(select(AccountEvent.kind).where(AccountEvent.kind.in_(["kyc_approved", "kyc_rejected"])))
    ).all()
    assert len(decisions) == 1
    chained = (
        await db.scalars(select(AuditEvent.kind).where(AuditEvent.kind.in_(["kyc_approved", "kyc_rejected"])))
    ).all()
    assert chained == [f"kyc_{'approved' if winner == 'verified' else 'rejected'}"]


async def test_an_image_id_document_is_shown_inline_in_the_queue(contractor, admin, db):
    from tests.profiles.helpers import JPEG_BYTES

    await submit_kyc(contractor, id_document=("id.jpg", JPEG_BYTES, "image/jpeg"))
    check = await db.scalar(select(KycCheck))
    page = await admin.get("/admin/kyc")
    assert f'<img class="kyc-queue__image" src="/files/{check.id_document_file_id}"' in page.text
    assert (await admin.get(f"/files/{check.id_document_file_id}")).headers["content-type"] == "image/jpeg"


async def test_the_status_card_is_only_ever_the_signed_in_contractors_own(
    contractor, other_contractor, client, admin, db
):
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    await admin.post_form(f"/admin/kyc/{check.id}/reject", {"reason": "The passport photo is blurry."})
    mine = await contractor.htmx("GET", "/profile/kyc-status?on=verification")
    assert "The passport photo is blurry." in mine.text
    theirs = await other_contractor.htmx("GET", "/profile/kyc-status")
    assert theirs.status_code == 200 and 'data-kyc-status="unverified"' in theirs.text
    assert "blurry" not in theirs.text
    assert (await client.htmx("GET", "/profile/kyc-status")).status_code == 404

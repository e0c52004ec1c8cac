"""An identity check's decision notifies the contractor through notify(), beside the page's
kyc-status signal; the deciding admin gets nothing, and a refused decision keeps nothing."""

from sqlalchemy import select

from app.profiles.models import KycCheck
from tests.profiles.helpers import submit_kyc
from tests.support.notifications import notifications_of, only_notice
from tests.support.signals import signals


async def test_approving_notifies_the_contractor(contractor, admin, db, smtp_server):
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    assert (await admin.post_form(f"/admin/kyc/{check.id}/approve")).status_code == 303
    row = await only_notice(db, contractor.user.id, "kyc.decided")
    assert row.title == "Your identity check is approved." and row.link == "/profile/verification"
    assert await signals(db, contractor.user.id, "kyc-status") == [{"status": "verified"}]
    assert await notifications_of(db, admin.user.id) == []
    assert (await contractor.get(row.link)).status_code == 200
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == contractor.user.email and mail["Subject"] == "Identity check approved"
    assert "/profile/verification" in mail.get_body(("plain",)).get_content()
    assert "/unsubscribe/" in mail["List-Unsubscribe"]


async def test_a_rejection_says_why_and_a_refused_one_keeps_nothing(contractor, admin, db):
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    no_reason = await admin.post_form(f"/admin/kyc/{check.id}/reject", {"reason": ""})
    assert no_reason.status_code == 422
    assert await notifications_of(db, contractor.user.id) == []
    assert await signals(db, contractor.user.id, "notification") == []
    await admin.post_form(f"/admin/kyc/{check.id}/reject", {"reason": "The photo is blurred."})
    row = await only_notice(db, contractor.user.id, "kyc.decided")
    assert row.title == "Your identity check is not approved." and row.data["reason"] == "The photo is blurred."
    # Deciding again is refused (already decided): nothing more is kept.
    assert (await admin.post_form(f"/admin/kyc/{check.id}/approve")).status_code == 409
    assert len(await notifications_of(db, contractor.user.id)) == 1

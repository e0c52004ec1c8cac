"""Identity documents are never publicly reachable: only their owner and admins, everyone else 404."""

from pathlib import Path

from sqlalchemy import select

from app.files.models import StoredFile
from app.profiles.models import KycCheck
from app.web.templating import STATIC
from tests.profiles.helpers import PDF_BYTES, PNG_BYTES, submit_kyc


async def test_the_owner_and_admins_can_open_them(contractor, admin, db):
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    for c in (contractor, admin):
        document = await c.get(f"/files/{check.id_document_file_id}")
        assert document.status_code == 200 and document.content == PDF_BYTES
        assert document.headers["cache-control"] == "private, no-store"
        assert document.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in document.headers["content-security-policy"]
        assert (await c.get(f"/files/{check.selfie_file_id}")).content == PNG_BYTES


async def test_another_contractor_a_client_and_a_visitor_get_404(contractor, other_contractor, client, anonymous, db):
    await submit_kyc(contractor)
    check = await db.scalar(select(KycCheck))
    for c in (other_contractor, client, anonymous):
        for file_id in (check.id_document_file_id, check.selfie_file_id):
            response = await c.get(f"/files/{file_id}")
            assert response.status_code == 404
            assert PDF_BYTES not in response.content and PNG_BYTES not in response.content


async def test_another_contractors_own_upload_does_not_open_theirs(contractor, other_contractor, db):
    await submit_kyc(contractor)
    await submit_kyc(other_contractor)
    mine = await db.scalar(select(KycCheck).where(KycCheck.user_id == contractor.user.id))
    theirs = await db.scalar(select(KycCheck).where(KycCheck.user_id == other_contractor.user.id))
    assert (await contractor.get(f"/files/{mine.selfie_file_id}")).status_code == 200
    assert (await contractor.get(f"/files/{theirs.selfie_file_id}")).status_code == 404
    assert (await other_contractor.get(f"/files/{mine.id_document_file_id}")).status_code == 404


async def test_no_static_or_guessable_url_reaches_the_bytes(contractor, anonymous, db, app):
    await submit_kyc(contractor)
    stored = (await db.scalars(select(StoredFile))).all()
    root = Path(app.state.settings.data_dir) / "uploads"
    assert not root.resolve().is_relative_to(STATIC.resolve())
    for row in stored:
        assert (root / row.storage_key).exists()
        assert (root / row.storage_key).stat().st_mode & 0o077 == 0, "owner-only permissions"
        for url in (
            f"/static/{row.storage_key}",
            f"/static/../.data/uploads/{row.storage_key}",
            f"/uploads/{row.storage_key}",
            f"/files/{row.storage_key}",
        ):
            response = await anonymous.get(url)
            assert response.status_code == 404, url
            assert row.storage_key not in (await contractor.get("/profile/verification")).text

"""KYC, admin-review adapter: a contractor sends an ID document and a selfie → pending."""

from sqlalchemy import func, select

from app.files.models import StoredFile
from app.files.uploads import MAX_FILE_BYTES
from app.profiles.models import ContractorProfile, KycCheck
from tests.profiles.helpers import HTML_AS_JPEG, JPEG_BYTES, PDF_BYTES, PNG_BYTES, stored_keys, submit_kyc


async def _counts(db) -> tuple[int, int]:
    return (
        await db.scalar(select(func.count()).select_from(KycCheck)),
        await db.scalar(select(func.count()).select_from(StoredFile)),
    )


async def test_the_page_says_why_verification_is_needed(contractor):
    page = await contractor.get("/profile/verification")
    assert page.status_code == 200
    assert "To get paid out you need a verified identity" in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert "Photo or scan of your ID document" in page.text and "A selfie" in page.text


async def test_sending_both_files_makes_the_check_pending(contractor, db, app):
    response = await submit_kyc(contractor)
    assert response.status_code == 303 and response.headers["location"] == "/profile/verification"
    profile = await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == contractor.user.id))
    assert profile.kyc_status == "pending"
    check = await db.scalar(select(KycCheck))
    assert (check.status, check.method, check.user_id) == ("pending", "documents", contractor.user.id)
    document, selfie = (
        await db.get(StoredFile, check.id_document_file_id),
        await db.get(StoredFile, check.selfie_file_id),
    )
    assert (document.content_type, document.purpose) == ("application/pdf", "kyc_id_document")
    assert (selfie.content_type, selfie.purpose) == ("image/png", "kyc_selfie")
    assert sorted(stored_keys(app)) == sorted([document.storage_key, selfie.storage_key])
    page = await contractor.get("/profile/verification")
    assert "Being reviewed" in page.text and "Send for review" not in page.text


async def test_a_second_submission_while_pending_is_refused(contractor, db):
    await submit_kyc(contractor)
    again = await submit_kyc(contractor, selfie=("me.jpg", JPEG_BYTES, "image/jpeg"))
    assert again.status_code == 409
    assert "already being reviewed" in again.text
    assert await _counts(db) == (1, 2)


async def test_an_html_page_named_jpg_is_refused_and_nothing_is_stored(contractor, db, app):
    response = await submit_kyc(contractor, selfie=("selfie.jpg", HTML_AS_JPEG, "image/jpeg"))
    assert response.status_code == 422
    assert "This file is not a JPEG, PNG or WebP image, whatever its name says." in response.text
    assert await _counts(db) == (0, 0) and stored_keys(app) == []
    profile = await db.scalar(select(ContractorProfile))
    assert profile.kyc_status == "unverified"


async def test_a_pdf_selfie_and_missing_files_are_explained(contractor, db, app):
    response = await submit_kyc(contractor, id_document=None, selfie=("me.pdf", PDF_BYTES, "application/pdf"))
    assert response.status_code == 422
    assert "Choose a photo or scan of your ID document." in response.text
    assert "This file is not a JPEG, PNG or WebP image" in response.text
    assert await _counts(db) == (0, 0) and stored_keys(app) == []


async def test_a_file_over_10_mb_is_refused_with_a_clear_message(contractor, db, app):
    big_pdf = PDF_BYTES + b"0" * (MAX_FILE_BYTES + 1 - len(PDF_BYTES))
    response = await submit_kyc(contractor, id_document=("scan.pdf", big_pdf, "application/pdf"))
    assert response.status_code == 422
    assert "This file is larger than 10 MB. Choose a smaller file." in response.text
    assert await _counts(db) == (0, 0) and stored_keys(app) == []


async def test_a_50_mb_body_is_refused_before_the_handler_and_nothing_is_stored(contractor, db, app):
    huge_pdf = PDF_BYTES + b"0" * (50 * 1024 * 1024)
    response = await submit_kyc(contractor, id_document=("scan.pdf", huge_pdf, "application/pdf"))
    assert response.status_code == 413
    assert "That file is too large" in response.text and "at most 10 MB" in response.text
    assert await _counts(db) == (0, 0) and stored_keys(app) == []


async def test_clients_and_visitors_cannot_submit(client, anonymous, db):
    assert (await submit_kyc(client)).status_code == 404
    response = await anonymous.post("/profile/verification", files={"selfie": ("me.png", PNG_BYTES, "image/png")})
    assert response.status_code in (303, 403)
    assert await _counts(db) == (0, 0)

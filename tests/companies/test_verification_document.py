"""The register extract sent with a verification request: checked by content, private to admins."""

from sqlalchemy import select

from app.accounts.models import Role
from app.companies.models import Company
from app.files.models import StoredFile
from tests.companies.test_create_company import ACME
from tests.conftest import persona

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def ask_with(client, filename, content, content_type):
    return await client.post(
        "/company/verification",
        data={"_csrf_token": await client.csrf_token()},
        files={"document": (filename, content, content_type)},
    )


async def test_the_extract_reaches_the_admin_and_no_one_else(app, client, admin, db):
    await client.post_form("/company", ACME)
    response = await ask_with(client, "extract.pdf", PDF, "application/pdf")
    assert response.status_code == 303
    company = await db.scalar(select(Company))
    assert company.verification == "pending" and company.registration_document_id
    queue = await admin.get("/admin/companies")
    assert f'href="/files/{company.registration_document_id}"' in queue.text
    downloaded = await admin.get(f"/files/{company.registration_document_id}")
    assert downloaded.status_code == 200 and downloaded.content == PDF
    async with persona(app, db, Role.client, "nosy@example.test") as nosy:
        assert (await nosy.get(f"/files/{company.registration_document_id}")).status_code == 404


async def test_a_disguised_file_is_refused_and_nothing_is_stored(client, db):
    await client.post_form("/company", ACME)
    response = await ask_with(client, "extract.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")
    assert response.status_code == 422
    company = await db.scalar(select(Company))
    assert company.verification == "unverified"
    assert await db.scalar(select(StoredFile)) is None

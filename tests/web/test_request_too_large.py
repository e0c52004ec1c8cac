"""A body over the size limit: 413 that says what was too large — the request for a form or JSON,
the file only for an upload."""

from tests.leads.test_api import api, company_with_key
from tests.profiles.test_edit_profile import FULL


async def test_an_api_body_over_its_limit_says_the_request_is_too_large(app, client):
    key = await company_with_key(client)
    async with api(app) as http:
        response = await http.post(
            "/api/leads",
            content=b'{"description": "' + b"x" * 70_000 + b'"}',
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "The request is too large"
    assert "at most 64 KB" in body["detail"]
    assert "File" not in body["error"] + body["detail"]


async def test_a_form_over_the_limit_says_the_request_is_too_large(anonymous):
    response = await anonymous.post_form("/login", {"email": "a@example.test", "password": "p" * 10_100_000})
    assert response.status_code == 413
    assert "The request is too large" in response.text and "at most 10 MB" in response.text
    assert "Files can be at most" not in response.text


async def test_an_upload_over_the_limit_still_talks_about_the_file(contractor):
    await contractor.post_form("/profile", FULL)
    response = await contractor.post(
        "/profile/portfolio",
        data={"_csrf_token": await contractor.csrf_token(), "title": "Big"},
        files={"image": ("big.png", b"\x89PNG" + b"0" * (11 * 1024 * 1024), "image/png")},
    )
    assert response.status_code == 413
    assert "That file is too large" in response.text and "Files can be at most 10 MB each" in response.text

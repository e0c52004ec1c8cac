"""Control characters anywhere a request carries text (query, path, form, multipart, JSON,
headers) get a plain 400 — a page, a toast or JSON — and never reach Postgres or Redis."""

from sqlalchemy import func, select

from app.accounts.models import AccountEvent, FailedSignIn
from app.leads.models import Lead
from app.profiles.models import PortfolioItem
from tests.leads.test_api import LEAD, api, company_with_key
from tests.profiles.helpers import PNG_BYTES
from tests.profiles.test_edit_profile import FULL
from tests.support.factories import make_user

REFUSAL = "contains an invisible control character (such as a NUL byte) that we can&#39;t accept"


def refused_page(response) -> bool:
    return response.status_code == 400 and REFUSAL in response.text and "text/html" in response.headers["content-type"]


async def rows(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def test_a_nul_in_the_job_search_is_a_400_page_not_a_server_error(anonymous):
    response = await anonymous.get("/jobs?q=%00")
    assert refused_page(response), response.text[:300]
    assert "The address (its “q” part)" in response.text
    for hostile in ("/jobs?q=logo%01design", "/jobs?q=%7F", "/jobs?q%00=logo", "/jobs?q=%C2%85"):
        assert (await anonymous.get(hostile)).status_code == 400, hostile


async def test_under_htmx_the_refusal_is_a_toast(anonymous):
    response = await anonymous.get("/jobs?q=%00", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["hx-reswap"] == "none"
    assert "control character" in response.headers["hx-trigger"]


async def test_ordinary_text_passes(anonymous):
    # Accents, emoji, tabs and line breaks are what people type: all fine.
    assert (await anonymous.get("/jobs?q=caf%C3%A9%20%F0%9F%8E%A8%09logo")).status_code == 200
    response = await anonymous.post_form(
        "/quote",
        {
            "name": "Zoë Ünal",
            "email": "zoe@example.test",
            "title": "Logo für mein Café",
            "description": "Line one\r\nLine two\twith a tab — and “quotes”.",
        },
    )
    assert response.status_code == 200, response.text[:300]


async def test_a_nul_in_a_path_parameter_is_refused(anonymous):
    response = await anonymous.get("/verify/abc%00def")
    assert refused_page(response)
    assert (await anonymous.get("/c/some%00slug")).status_code == 400


async def test_a_nul_in_a_form_field_is_refused_before_anything_is_counted_or_stored(app, anonymous, db):
    user = await make_user(db)
    response = await anonymous.post_form("/login", {"email": user.email + "\x00", "password": "wrong password"})
    assert refused_page(response)
    assert await rows(db, FailedSignIn) == 0
    assert await app.state.redis.keys("ratelimit:*") == []
    # A field name is text too.
    assert (await anonymous.post_form("/login", {"email\x00": "a", "password": "b"})).status_code == 400


async def test_a_control_character_in_a_header_we_store_is_refused(anonymous, db):
    user = await make_user(db)
    response = await anonymous.post_form(
        "/login", {"email": user.email, "password": "wrong password"}, headers={"user-agent": b"Mozilla\x00/5.0"}
    )
    assert response.status_code == 400
    assert "The user-agent header contains" in response.text
    assert await rows(db, FailedSignIn) == 0 and await rows(db, AccountEvent) == 0


async def test_a_nul_in_a_multipart_field_or_file_name_is_refused(contractor, db):
    await contractor.post_form("/profile", FULL)
    token = await contractor.csrf_token()
    image = {"image": ("shot.png", PNG_BYTES, "image/png")}
    as_form = await contractor.post(
        "/profile/portfolio", data={"_csrf_token": token, "title": "Shop\x00accounts"}, files=image
    )
    assert refused_page(as_form)
    # htmx sends the token as a header: Litestar's multipart reader then parses the body itself.
    as_htmx = await contractor.post(
        "/profile/portfolio", data={"title": "Shop\x01accounts"}, files=image, headers={"X-CSRFToken": token}
    )
    assert as_htmx.status_code == 400
    # Browsers escape control characters in file names; a hand-made request need not.
    boundary = "hostile-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="_csrf_token"\r\n\r\n'
            f"{token}\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="title"\r\n\r\n'
            "Shop accounts\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="image"; filename="shot\x00.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + PNG_BYTES
        + f"\r\n--{boundary}--\r\n".encode()
    )
    bad_name = await contractor.post(
        "/profile/portfolio", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert bad_name.status_code == 400 and "The file name contains" in bad_name.text
    assert await rows(db, PortfolioItem) == 0


async def test_a_nul_in_an_api_json_body_is_a_json_400_naming_the_field(app, client, db):
    key = await company_with_key(client)
    async with api(app) as http:
        headers = {"Authorization": f"Bearer {key}"}
        nul = await http.post("/api/leads", json={**LEAD, "title": "Logo\x00"}, headers=headers)
        assert nul.status_code == 400
        assert nul.json()["status"] == 400 and "The field “title” contains" in nul.json()["detail"]
        # JSON can also spell a NUL or a lone surrogate as an escape; both are refused.
        for escaped in (b'"Logo\\u0000"', b'"Logo\\ud800"', b'"Logo\\u001b[31m"'):
            body = b'{"name": "Sam", "email": "sam@example.test", "title": ' + escaped + b', "description": "x"}'
            response = await http.post("/api/leads", content=body, headers={**headers, "Content-Type": "text/plain"})
            assert response.status_code == 400, escaped
        nested = await http.post("/api/leads", content=b"[" * 60_000, headers=headers)
        assert nested.status_code == 400 and "nested too deeply" in nested.json()["detail"]
        # The key is still checked before the body is looked at.
        unauthorized = await http.post("/api/leads", json={**LEAD, "title": "Logo\x00"})
        assert unauthorized.status_code == 401
        as_multipart = await http.post("/api/leads", data={"title": "Logo\x00"}, files={"f": ("a\x00", b"x")})
        assert as_multipart.status_code == 401
    assert await rows(db, Lead) == 0

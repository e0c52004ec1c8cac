"""Designed error pages, htmx toasts, CSRF, security headers and static caching."""

import json
import re

from app.web.security import CSP


async def test_unknown_page_gets_the_designed_404(anonymous):
    response = await anonymous.get("/no/such/page")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "We couldn&#39;t find that page" in response.text or "We couldn't find that page" in response.text
    assert 'href="/"' in response.text


async def test_unknown_page_under_htmx_is_a_toast_and_no_swap(anonymous):
    response = await anonymous.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["hx-reswap"] == "none"
    toast = json.loads(response.headers["hx-trigger"])["toast"]
    assert toast["level"] == "error" and "couldn" in toast["message"]
    assert response.text == ""


async def test_a_form_without_csrf_token_gets_a_friendly_403(anonymous):
    response = await anonymous.post("/login", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    # The designed error page in plain words, with a way on; not Litestar's wording, not the form again.
    assert 'class="error-page"' in response.text and "<h1>This action was blocked</h1>" in response.text
    assert "This form expired or was sent from somewhere else. Reload the page and try again." in response.text
    assert 'href="/login"' in response.text
    assert "CSRF token" not in response.text
    assert 'name="password"' not in response.text


async def test_htmx_requests_send_the_token_in_a_header(client):
    ok = await client.htmx("POST", "/logout")
    assert ok.status_code == 200
    assert ok.headers["hx-redirect"] == "/"


async def test_pages_carry_strict_security_headers(anonymous):
    response = await anonymous.get("/")
    headers = response.headers
    assert headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "frame-ancestors 'none'" in CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert headers["vary"] == "HX-Request"


async def test_pages_have_no_inline_script_or_style(anonymous):
    html = (await anonymous.get("/")).text
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), "inline <script> found"
    assert " style=" not in html
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html)
    assert config, "htmx is configured in the layout"
    settings = json.loads(config.group(1))
    assert (
        settings["selfRequestsOnly"] is True and settings["allowEval"] is False and settings["allowScriptTags"] is False
    )


async def test_static_files_are_fingerprinted_and_cached_for_a_year(anonymous):
    html = (await anonymous.get("/")).text
    urls = re.findall(r'(?:src|href)="(/static/[^"]+\?v=[0-9a-f]{12})"', html)
    assert any("htmx" in url for url in urls) and any(url.endswith(".css") or ".css?" in url for url in urls)
    for url in urls:
        response = await anonymous.get(url)
        assert response.status_code == 200, url
        assert "max-age=31536000" in response.headers["cache-control"]
        assert "immutable" in response.headers["cache-control"]


async def test_vendored_htmx_is_2_0_and_sse_extension_is_2_2(anonymous):
    html = (await anonymous.get("/")).text
    assert re.search(r"/static/vendor/htmx-2\.0\.\d+\.min\.js", html)
    assert re.search(r"/static/vendor/htmx-ext-sse-2\.2\.\d+(\.min)?\.js", html)


async def test_a_refused_action_gets_the_designed_409_page_or_a_toast(admin):
    page = await admin.post_form(f"/admin/users/{admin.user.id}/suspend", {"reason": "test"})
    assert page.status_code == 409
    assert "You cannot suspend your own account." in page.text
    toast = await admin.htmx("POST", f"/admin/users/{admin.user.id}/suspend", data={"reason": "test"})
    assert toast.status_code == 409 and toast.headers["hx-reswap"] == "none"
    assert json.loads(toast.headers["hx-trigger"])["toast"]["message"] == "You cannot suspend your own account."


async def test_the_mail_catcher_page_exists_only_in_development(anonymous):
    assert (await anonymous.get("/dev/mail")).status_code == 404


async def test_hsts_is_sent_when_served_over_https(settings):
    from dataclasses import replace

    from app.web.security import security_headers

    assert "Strict-Transport-Security" not in security_headers(settings)
    https = replace(settings, environment="production", app_base_url="https://pactline.example")
    assert security_headers(https)["Strict-Transport-Security"].startswith("max-age=63072000")


async def test_a_static_path_no_file_system_can_hold_is_not_found(anonymous):
    """A file name over 255 bytes makes the file system raise; Litestar would answer 500."""
    for path in ("/static/" + "x" * 300, "/static/css/" + "é" * 200 + ".css"):
        for method in ("GET", "HEAD"):
            assert (await anonymous.request(method, path)).status_code == 404, (method, path[:40])
    # A NUL byte is refused for the whole request before any route sees it.
    assert (await anonymous.get("/static/css/a%00b.css")).status_code == 400


async def test_a_multipart_form_with_bytes_that_are_not_text_gets_a_400_page(contractor):
    """Litestar decodes multipart fields strictly as UTF-8 (already in the CSRF check)."""
    response = await contractor.post(
        "/profile/portfolio",
        data={"_csrf_token": await contractor.csrf_token(), "title": b"Sign \xff\xfe"},
        files={"image": ("sign.png", b"\x89PNG\r\n\x1a\n", "image/png")},
    )
    assert response.status_code == 400
    assert "not readable text" in response.text and "text/html" in response.headers["content-type"]

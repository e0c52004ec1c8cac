"""What a signed-in person is shown is never stored by a cache: pages, htmx fragments, redirects,
errors and PDFs say `Cache-Control: no-store`; visitors' pages and static files do not."""

import re

from tests.contracts.helpers import active_contract


def no_store(response) -> bool:
    return "no-store" in response.headers.get("cache-control", "")


async def test_signed_in_pages_fragments_and_redirects_are_not_stored(client, contractor):
    for path in ("/dashboard", "/settings", "/jobs", "/contracts", "/c/nobody-by-this-name"):
        response = await client.get(path)
        assert response.status_code in (200, 404), path
        assert response.headers["cache-control"] == "no-store", path

    fragment = await contractor.get("/jobs?q=design", headers={"HX-Request": "true", "HX-Target": "job-results"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["cache-control"] == "no-store"

    saved = await client.post_form("/settings/profile", {"name": "Clara Cached"})
    assert saved.status_code == 303 and no_store(saved)

    signed_out = await contractor.post_form("/logout")
    assert signed_out.status_code == 303 and no_store(signed_out)


async def test_the_contract_pdf_keeps_its_own_stricter_header(db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    response = await client.get(f"/contracts/{contract.id}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"


async def test_visitor_pages_and_static_files_stay_cacheable(anonymous, client):
    landing = await anonymous.get("/")
    assert landing.status_code == 200
    assert not no_store(landing)
    assert not no_store(await anonymous.get("/login"))

    page = await client.get("/dashboard")
    css = re.search(r'href="(/static/[^"]+\.css[^"]*)"', page.text).group(1)
    static = await client.get(css)
    assert static.status_code == 200
    assert "immutable" in static.headers["cache-control"] and not no_store(static)

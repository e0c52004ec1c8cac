"""Version list, one version's terms, and the comparison of two versions: for the parties and admins only."""

import re

import pytest

from app.contracts.drafting import services as drafting
from app.contracts.signing import services as signing
from app.contracts.signing.diff import changes_context
from app.contracts.terms import Terms
from tests.contracts.helpers import FEE, sent_contract, sign


async def send_again(db, contract, user, edit):
    terms = contract.draft_terms.to_json()
    edit(terms)
    await drafting.update_draft(db, contract.id, user, Terms.from_json(terms))
    version = await signing.send(db, contract.id, user, fee=FEE)
    await db.commit()
    return version


def raise_design(terms):
    terms["milestones"][0]["amount_minor"] = 120000


@pytest.fixture
async def two_versions(db, client, contractor):
    """Version 1 as drafted from the proposal (signed by the client), version 2 with Design at 1 200.00."""
    contract, first = await sent_contract(db, client.user, contractor.user)
    await sign(db, contract.id, client.user, first.terms_hash)
    await db.commit()
    second = await send_again(db, contract, client.user, raise_design)
    return contract, first, second


def urls(contract_id):
    return [
        f"/contracts/{contract_id}/versions",
        f"/contracts/{contract_id}/versions/1",
        f"/contracts/{contract_id}/compare",
    ]


def cells(html):
    """The text of each compare row: label, before, after."""
    rows = re.findall(r'<tr class="compare-row[^"]*"[^>]*>(.*?)</tr>', html, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows
    ]


async def test_compare_shows_the_changed_amount_side_by_side(client, contractor, two_versions):
    contract, _, _ = two_versions
    for party in (client, contractor):
        page = await party.get(f"/contracts/{contract.id}/compare")
        assert page.status_code == 200
        assert "What changed between version 1 and version 2" in page.text
        assert cells(page.text) == [["Milestone 1 · amount", "€1,000.00", "€1,200.00"]]
        assert "1 change: amount of Design" in page.text
        # The version pickers are a plain GET form: it works without JavaScript.
        assert re.search(r'<form method="get" action="/contracts/\d+/compare"', page.text)
        assert '<label class="field__label" for="field-from">From version</label>' in page.text
        assert '<option value="1" selected>' in page.text and '<option value="2" selected>' in page.text


async def test_compare_any_two_versions_in_either_order(client, db, two_versions):
    contract, _, _ = two_versions
    await send_again(db, contract, client.user, lambda t: t.update(review_window_days=14))
    page = await client.get(f"/contracts/{contract.id}/compare?from=3&to=1")
    assert "What changed between version 3 and version 1" in page.text
    assert cells(page.text) == [
        ["Review window", "14 days", "7 days"],
        ["Milestone 1 · amount", "€1,200.00", "€1,000.00"],
    ]
    same = await client.get(f"/contracts/{contract.id}/compare?from=2&to=2")
    assert "These are the same version." in same.text and not cells(same.text)
    # Only `to` given: compared with the version before it.
    page = await client.get(f"/contracts/{contract.id}/compare?to=2")
    assert "What changed between version 1 and version 2" in page.text


async def test_unknown_versions_are_not_found(client, two_versions):
    contract, _, _ = two_versions
    for url in ("compare?from=0&to=2", "compare?from=1&to=9", "compare?from=x", "compare?to=²³", "versions/3",
                "versions/0"):  # fmt: skip
        assert (await client.get(f"/contracts/{contract.id}/{url}")).status_code == 404, url
    assert (await client.get("/contracts/999999/versions")).status_code == 404


async def test_versions_page_lists_both_with_hashes_signatures_and_links(client, contractor, two_versions):
    contract, first, second = two_versions
    page = await contractor.get(f"/contracts/{contract.id}/versions")
    assert page.status_code == 200
    text = page.text
    assert "Version 1" in text and "Version 2" in text
    assert text.index("Version 2") < text.index("Version 1")  # newest first
    for v in (first, second):
        assert f"{v.terms_hash[:12]}…" in text and v.terms_hash in text  # short, and the full one in <details>
    assert text.count('data-status="current"') == 1
    current = text[text.index('id="version-2"') : text.index('id="version-1"')]
    assert 'data-status="current"' in current
    assert (
        f"Waiting for {client.user.name} to sign" in current
        and f"Waiting for {contractor.user.name} to sign" in current
    )
    older = text[text.index('id="version-1"') :]
    assert f"Signed by {client.user.name} (client)" in older and "Waiting for" not in older
    assert f"Sent by</dt><dd>{client.user.name}" in text
    assert f'href="/contracts/{contract.id}/versions/2"' in text
    assert f'href="/contracts/{contract.id}/compare?from=1&amp;to=2"' in text


async def test_one_version_shows_its_terms_and_hash(client, two_versions):
    contract, first, _ = two_versions
    page = await client.get(f"/contracts/{contract.id}/versions/1")
    assert page.status_code == 200
    assert "Version 1" in page.text and first.terms_hash in page.text
    assert "This is an earlier version. The latest is version 2." in page.text
    assert "€1,000.00" in page.text and "€2,000.00" in page.text and "€3,000.00" in page.text
    assert "1 Feb 2030" in page.text and "Booking website" in page.text
    latest = await client.get(f"/contracts/{contract.id}/versions/2")
    assert "€1,200.00" in latest.text and "earlier version" not in latest.text


async def test_nobody_else_sees_any_version_page(other_contractor, anonymous, two_versions):
    contract, _, _ = two_versions
    for url in urls(contract.id) + [f"/contracts/{contract.id}/compare?from=1&to=2"]:
        response = await other_contractor.get(url)
        assert response.status_code == 404, url
        assert "Booking website" not in response.text
        visitor = await anonymous.get(url)
        assert visitor.status_code in (302, 303), url
        assert visitor.headers["location"].startswith("/login")


async def test_an_admin_can_view_every_version_page(admin, two_versions):
    contract, first, _ = two_versions
    for url in urls(contract.id):
        response = await admin.get(url)
        assert response.status_code == 200, url
    assert first.terms_hash in (await admin.get(f"/contracts/{contract.id}/versions")).text


async def test_a_single_version_has_nothing_to_compare(client, contractor, db):
    contract, first = await sent_contract(db, client.user, contractor.user)
    page = await client.get(f"/contracts/{contract.id}/compare")
    assert page.status_code == 200 and "Only one version so far" in page.text and not cells(page.text)
    assert (await changes_context(db, contract))["changes"] == []
    versions = await client.get(f"/contracts/{contract.id}/versions")
    assert "Compare with version" not in versions.text and first.terms_hash in versions.text


async def test_changes_context_and_box_for_the_contract_page(app, db, two_versions):
    contract, _, _ = two_versions
    context = await changes_context(db, contract)
    assert (context["from_number"], context["to_number"]) == (1, 2)
    assert [c.label for c in context["changes"]] == ["Milestone 1 · amount"]
    assert context["summary"] == "1 change: amount of Design"
    env = app.template_engine.engine
    html = env.get_template("contracts/_changes.html").render(
        contract=contract, changes=context, url_for=lambda name, **kw: f"/contracts/{kw['contract_id']}/compare"
    )
    assert "What changed since version 1" in html
    assert "<del>€1,000.00</del>" in html and "<ins>€1,200.00</ins>" in html
    assert f'href="/contracts/{contract.id}/compare?from=1&amp;to=2"' in html
    assert env.get_template("contracts/_changes.html").render(contract=contract, changes=None).strip() == ""

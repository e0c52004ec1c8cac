"""The admin console's "Verify the whole chain now" checks the money ledger too, and says so."""

import asyncio

from tests.escrow.test_verify import post_three, unbalance


async def checked_page(admin) -> str:
    response = await admin.post_form("/admin/audit/verify")
    assert response.status_code == 303
    for _ in range(100):
        page = await admin.get("/admin/audit")
        if "Not checked yet" not in page.text:
            return page.text
        await asyncio.sleep(0.1)
    raise AssertionError("the check did not finish")


async def test_an_intact_ledger_is_reported_with_its_entry_count(admin, db, books):
    await post_three(db, books)
    page = await checked_page(admin)
    assert "money: 3 entries balance" in page
    block = await admin.htmx("GET", "/admin/audit/verify")
    assert "All 3 money entries sum to zero, and every balance matches its postings." in block.text
    assert "money ledger is wrong" not in block.text


async def test_a_broken_entry_is_named_on_the_console(app, admin, db, books):
    entries = await post_three(db, books)
    await unbalance(app, entries[2], books.fees)
    page = await checked_page(admin)
    assert f"at entry #{entries[2].id}: its EUR postings sum to €0.05, not zero" in page
    block = await admin.htmx("GET", "/admin/audit/verify")
    assert f"The money ledger is wrong at entry <strong>#{entries[2].id}</strong>" in block.text
    assert "All 3 money entries" not in block.text

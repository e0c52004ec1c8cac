"""/payments, the client's money page: totals per currency (paid in, held in escrow now, released
with its fee part, refunded), each contract's figures with links to it and its statement, the
12-month chart with its table, and the receipts list; for clients only, and only their own money.
It re-fetches its block on the "payments" signal, which the ledger publishes when money moves."""

import re

from app.accounts.models import Role
from app.db import utcnow
from tests.conftest import persona
from tests.statements.helpers import deal, fund, refund, release
from tests.support.documents import listed_documents
from tests.support.signals import refresh_url, signals


def figures(html: str, currency: str = "EUR") -> list[dict[str, str]]:
    """Every figures list on the page in order: {paid_in, held, released, refunded} as shown."""
    found = []
    for block in re.findall(rf'<dl class="details money-figures" data-figures="{currency}">(.*?)</dl>', html, re.S):
        found.append(
            {
                k: re.sub(r"<[^>]+>", "", v).strip()
                for k, v in re.findall(r'data-figure="(\w+)">(.*?)</dd>', block, re.S)
            }
        )
    return found


def section(html: str, contract_id: int) -> str:
    start = html.index(f'id="payments-contract-{contract_id}"')
    return html[start : html.index("</section>", start)]


async def test_totals_and_each_contracts_figures(app, db, client, contractor, other_contractor):
    first, (design, build) = await deal(db, client.user, contractor.user)
    await fund(db, first, client.user, design, build)
    await release(db, design, client.user, contractor.user)
    await refund(db, first, build)
    second, (s_design, _) = await deal(db, client.user, other_contractor.user)
    await fund(db, second, client.user, s_design)

    page = await client.get("/payments")
    assert page.status_code == 200, page.text[:300]
    total, *per_contract = figures(page.text)
    assert total == {"paid_in": "€4,000.00", "held": "€1,000.00",
                     "released": "€1,000.00 (of which platform fee €100.00)", "refunded": "€2,000.00"}  # fmt: skip
    assert figures(section(page.text, first.id)) == [
        {
            "paid_in": "€3,000.00",
            "held": "€0.00",
            "released": "€1,000.00 (of which platform fee €100.00)",
            "refunded": "€2,000.00",
        }  # fmt: skip
    ]
    assert figures(section(page.text, second.id)) == [
        {"paid_in": "€1,000.00", "held": "€1,000.00", "released": "€0.00", "refunded": "€0.00"}
    ]
    assert len(per_contract) == 2
    for c in (first, second):
        s = section(page.text, c.id)
        assert f'href="/contracts/{c.id}"' in s and f'href="/contracts/{c.id}/statement"' in s
    # The chart: this month paid in €4,000.00 and released €1,000.00; the table says the same.
    assert '<svg class="chart__svg"' in page.text and 'role="img"' in page.text
    row = re.search(r'<tr data-month="(\d{4}-\d{2})">(?:(?!</tr>).)*</tr>\s*</tbody>', page.text, re.S).group(0)
    assert re.findall(r'data-minor="(\d+)"', row) == ["400000", "100000"]
    # Each paid funding gave a receipt, the release the contractor's invoice; the fee invoice is
    # between Pactline and the contractor, so it is not on the client's page.
    year = utcnow().year
    listed = [(title, amount) for _, title, amount, _ in listed_documents(page.text)]
    assert sorted(listed) == [("Invoice", "€1,000.00"), ("Receipt", "€1,000.00"), ("Receipt", "€3,000.00")]
    assert f"C{contractor.user.id}-{year}-0001" in page.text
    assert "Fee invoice" not in page.text and "No receipts or invoices yet." not in page.text


async def test_another_clients_money_is_not_on_my_page(app, db, client, contractor):
    contract, (design, _) = await deal(db, client.user, contractor.user)
    await fund(db, contract, client.user, design)
    async with persona(app, db, Role.client, "second-client@example.test") as other:
        page = await other.get("/payments")
        assert page.status_code == 200
        assert "No payments yet" in page.text and "€1,000.00" not in page.text
        assert f"/contracts/{contract.id}" not in page.text and "data-chart=" not in page.text
        assert (await other.get(f"/contracts/{contract.id}/statement")).status_code == 404


async def test_payments_is_for_clients(client, contractor, admin, anonymous):
    assert (await contractor.get("/payments")).status_code == 404
    assert (await admin.get("/payments")).status_code == 404
    visitor = await anonymous.get("/payments")
    assert visitor.status_code in (302, 303) and visitor.headers["location"] == "/login?next=/payments"
    page = await client.get("/payments")
    assert page.status_code == 200 and 'href="/payments"' in page.text  # in the client's menu
    assert 'href="/payments"' not in (await contractor.get("/earnings")).text


async def test_the_page_refreshes_when_money_moves(db, client, contractor):
    contract, (design, _) = await deal(db, client.user, contractor.user)
    page = await client.get("/payments")
    assert refresh_url(page.text, "payments") == "/payments"
    assert await signals(db, client.user.id, "payments") == []

    await fund(db, contract, client.user, design)
    assert len(await signals(db, client.user.id, "payments")) == 1
    await release(db, design, client.user, contractor.user)
    sent = await signals(db, client.user.id, "payments")
    assert len(sent) == 2 and all(s["contract"] == contract.id for s in sent)
    assert await signals(db, contractor.user.id, "payments") == []  # the contractor gets "earnings"

    block = await client.get("/payments", headers={"HX-Request": "true"})
    assert block.text.lstrip().startswith('<div id="payments-live"') and "<html" not in block.text
    assert figures(block.text)[0]["released"] == "€1,000.00 (of which platform fee €100.00)"

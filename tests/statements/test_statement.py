"""A contract's statement: every journal entry of the contract in time order, in words, with the
movement of its escrow and a running balance; the figures paid in, held, released (fee part) and
refunded; for its two parties only. Money moves through the real verbs."""

import re

from app.contracts.models import Contract
from app.escrow import lifecycle
from app.money import Money
from app.statements.queries import statement_of
from tests.statements.helpers import deal, fund, refund, release
from tests.support.documents import listed_documents

ROWS = re.compile(r'<tr data-entry="\d+">(.*?)</tr>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


def table(html: str) -> list[list[str]]:
    """The statement's rows as a person reads them: date, what happened, escrow, held after."""
    return [[TAG.sub("", c).strip() for c in CELL.findall(row)] for row in ROWS.findall(html)]


async def test_fund_release_refund_in_order_with_a_running_balance(db, client, contractor):
    contractor.user.name = "Zoë Ångström"
    await db.commit()
    contract, (design, build) = await deal(db, client.user, contractor.user)
    paid = await fund(db, contract, client.user, design, build)
    await release(db, design, client.user, contractor.user)
    await refund(db, contract, build)
    # What the refund job books once the provider has given the money back.
    await lifecycle.close_refund(db, paid.id, Money(200000, "EUR"), key=f"refund:milestone:{build.id}",
                                 refund_id="re_statement", client_id=client.user.id)  # fmt: skip
    await db.commit()

    statement = await statement_of(db, await db.get(Contract, contract.id))
    assert [(line.description, line.amount_minor, line.balance_minor) for line in statement.lines] == [
        ("Funded: “Design”", 100000, 100000),
        ("Funded: “Build”", 200000, 300000),
        ("Released to Zoë Ångström: “Design”", -90000, 210000),
        ("Platform fee: “Design”", -10000, 200000),
        ("Refunded to the client: “Build”", -200000, 0),
        ("Refund paid back to the client’s card by the payment provider", 0, 0),
    ]
    times = [line.at for line in statement.lines]
    assert times == sorted(times)
    [eur] = statement.figures
    assert (eur.paid_in, eur.held, eur.released, eur.fee, eur.refunded) == (300000, 0, 100000, 10000, 200000)
    assert eur.paid_in == eur.held + eur.released + eur.refunded

    for who in (client, contractor):
        page = await who.get(f"/contracts/{contract.id}/statement")
        assert page.status_code == 200, page.text[:300]
        rows = table(page.text)
        assert [r[1:] for r in rows] == [
            ["Funded: “Design”", "+€1,000.00", "€1,000.00"],
            ["Funded: “Build”", "+€2,000.00", "€3,000.00"],
            ["Released to Zoë Ångström: “Design”", "−€900.00", "€2,100.00"],
            ["Platform fee: “Design”", "−€100.00", "€2,000.00"],
            ["Refunded to the client: “Build”", "−€2,000.00", "€0.00"],
            ["Refund paid back to the client’s card by the payment provider", "—", "€0.00"],
        ]
        assert 'data-figure="paid_in">€3,000.00' in page.text
        assert "€1,000.00 (of which platform fee €100.00)" in TAG.sub("", page.text)
        assert f'href="/contracts/{contract.id}/statement.csv"' in page.text
        # The contract's documents for this person: the client's receipt and the contractor's
        # invoice to them; the contractor's invoice and Pactline's fee invoice to the contractor.
        titles = sorted((title, amount) for _, title, amount, _ in listed_documents(page.text))
        if who is client:
            assert titles == [("Invoice", "€1,000.00"), ("Receipt", "€3,000.00")]
        else:
            assert titles == [("Fee invoice", "€100.00"), ("Invoice", "€1,000.00")]


async def test_a_statement_before_any_money_moved_says_so(db, client, contractor):
    contract, _ = await deal(db, client.user, contractor.user)
    page = await client.get(f"/contracts/{contract.id}/statement")
    assert page.status_code == 200
    assert "No money has moved on this contract yet." in page.text
    assert "data-entry=" not in page.text


async def test_the_contract_page_links_its_statement_for_the_parties(db, client, contractor):
    contract, _ = await deal(db, client.user, contractor.user)
    for who in (client, contractor):
        page = await who.get(f"/contracts/{contract.id}")
        assert f'href="/contracts/{contract.id}/statement"' in page.text


async def test_only_the_parties_see_a_statement(db, client, contractor, other_contractor, admin, anonymous):
    contract, (design, _) = await deal(db, client.user, contractor.user)
    await fund(db, contract, client.user, design)
    for path in (f"/contracts/{contract.id}/statement", f"/contracts/{contract.id}/statement.csv"):
        assert (await other_contractor.get(path)).status_code == 404
        assert (await admin.get(path)).status_code == 404
        visitor = await anonymous.get(path)
        assert visitor.status_code in (302, 303) and visitor.headers["location"].startswith("/login?next=")
    assert (await client.get(f"/contracts/{contract.id + 100000}/statement")).status_code == 404
    assert (await client.get(f"/contracts/{contract.id + 100000}/statement.csv")).status_code == 404


async def test_the_statement_refreshes_on_each_partys_money_signal(db, client, contractor):
    from tests.support.signals import refresh_url, signals

    contract, (design, _) = await deal(db, client.user, contractor.user)
    page = await client.get(f"/contracts/{contract.id}/statement")
    url = refresh_url(page.text, "payments")
    assert url == f"/contracts/{contract.id}/statement"
    theirs = await contractor.get(f"/contracts/{contract.id}/statement")
    assert refresh_url(theirs.text, "earnings") == url

    await fund(db, contract, client.user, design)
    assert [s["contract"] for s in await signals(db, client.user.id, "payments")] == [contract.id]
    assert contract.id in [s.get("contract") for s in await signals(db, contractor.user.id, "earnings")]
    block = await client.get(url, headers={"HX-Request": "true"})
    assert block.status_code == 200 and block.text.lstrip().startswith('<div id="statement-live"')
    assert "Funded: “Design”" in block.text and "<html" not in block.text

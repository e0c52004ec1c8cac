"""The statement as CSV: UTF-8 with a byte order mark (so Excel reads € and non-ASCII names; decision
0041), a header row, one row per movement with amounts in minor units and formatted, the running
balance; a title a spreadsheet would run as a formula stays text. The two parties only."""

import csv
import io

from app.statements.spreadsheet import HEADER, neutralized
from tests.statements.helpers import add_milestone, deal, fund, release

HOSTILE = ['=HYPERLINK("http://evil.test","Click")', "+1+2", "-2+3", "@SUM(A1:A2)"]


async def rows_of(who, contract_id):
    response = await who.get(f"/contracts/{contract_id}/statement.csv")
    assert response.status_code == 200, response.text[:300]
    return response, list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def test_the_csv_has_a_bom_a_header_and_a_row_per_movement(db, client, contractor):
    contractor.user.name = "Zoë Ångström"
    await db.commit()
    contract, (design, _) = await deal(db, client.user, contractor.user)
    await fund(db, contract, client.user, design)
    await release(db, design, client.user, contractor.user)

    response, rows = await rows_of(client, contract.id)
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="statement-{contract.public_id}.csv"'
    assert rows[0] == HEADER
    body = rows[1:]
    assert [r[1:] for r in body] == [
        ["Funded: “Design”", "Design", "100000", "€1,000.00", "EUR", "100000", "€1,000.00"],
        ["Released to Zoë Ångström: “Design”", "Design", "-90000", "−€900.00", "EUR", "10000", "€100.00"],
        ["Platform fee: “Design”", "Design", "-10000", "−€100.00", "EUR", "0", "€0.00"],
    ]
    for r in body:
        assert len(r[0]) == 19 and r[0][4] == "-" and r[0][10] == " "  # 2026-12-01 12:34:56 (UTC)
    # The contractor gets the same statement.
    _, theirs = await rows_of(contractor, contract.id)
    assert theirs == rows


async def test_a_title_that_looks_like_a_formula_stays_text(db, client, contractor):
    contract, _ = await deal(db, client.user, contractor.user)
    added = [await add_milestone(db, contract, client.user, contractor.user, title, "10") for title in HOSTILE]
    await fund(db, contract, client.user, *added)

    _, rows = await rows_of(client, contract.id)
    body = rows[1:]
    assert len(body) == len(HOSTILE)
    assert sorted(r[1] for r in body) == sorted(f"Funded: “{title}”" for title in HOSTILE)  # in words
    assert sorted(r[2] for r in body) == sorted("'" + title for title in HOSTILE)  # the title column: text
    for row in body:
        for cell in (row[1], row[2], row[4], row[7]):  # every text cell
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row[3].lstrip("-").isdigit() and row[6].lstrip("-").isdigit()  # amounts stay numbers


def test_the_guard_prefixes_every_cell_a_spreadsheet_would_run():
    for cell in HOSTILE + ["\t=1", "\r=1"]:
        assert neutralized(cell) == "'" + cell
    for cell in ["Funded: “=1”", "€1,000.00", "−€900.00", "Zoë", ""]:
        assert neutralized(cell) == cell

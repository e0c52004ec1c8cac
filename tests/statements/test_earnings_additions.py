"""/earnings keeps what it had and adds the 12-month chart of what was released to the contractor
(their part, net of the fee) and paid out to their bank, with its table, and their invoices."""

import re

from app.db import utcnow
from app.payouts.models import PayoutStatus
from tests.payouts.helpers import payouts, ready_contractor, wait_for, withdraw_form
from tests.support.documents import listed_documents
from tests.support.signals import refresh_url


def this_month(html: str) -> list[str]:
    row = re.search(r'<tr data-month="\d{4}-\d{2}">(?:(?!</tr>).)*</tr>\s*</tbody>', html, re.S).group(0)
    return re.findall(r'data-minor="(\d+)"', row)


async def test_the_chart_shows_released_net_of_the_fee_and_paid_out(app, db, contractor, other_contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)  # €1,000.00 released, €900.00 to them
    page = await contractor.get("/earnings")
    assert refresh_url(page.text, "earnings") == "/earnings"
    assert 'aria-labelledby="chart-earnings-EUR-title chart-earnings-EUR-desc"' in page.text
    assert '<title id="chart-earnings-EUR-title">Your earnings per month in EUR, last 12 months</title>' in page.text
    assert '<th scope="col" class="text-right">Released to you</th>' in page.text
    assert this_month(page.text) == ["90000", "0"]
    # The release issued the contractor's invoice to the client and Pactline's fee invoice to them.
    year = utcnow().year
    assert "Your invoices" in page.text and "No invoices yet." not in page.text
    assert [(n, t, a) for n, t, a, _ in listed_documents(page.text)] == [
        (f"C{me_id}-{year}-0001", "Invoice", "€1,000.00"),
        (f"PL-{year}-000002", "Fee invoice", "€100.00"),
    ]

    response = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "600"})
    assert response.status_code == 303

    async def paid():
        [p] = await payouts(db, me_id)
        return p if p.status == PayoutStatus.paid else None

    await wait_for(paid, what="the payout being paid")
    block = await contractor.get("/earnings", headers={"HX-Request": "true"})
    assert block.text.lstrip().startswith('<div id="earnings-live"')
    assert this_month(block.text) == ["90000", "60000"]

    theirs = await other_contractor.get("/earnings")
    assert (
        "data-chart=" not in theirs.text
        and "Nothing was released to you or paid out in the last 12 months." in theirs.text
    )

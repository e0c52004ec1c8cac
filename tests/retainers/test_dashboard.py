"""The client's dashboard lists a retainer's period to fund once its first funding reminder is due,
not every period scheduled ahead."""

from app.contracts.models import MilestoneStatus
from tests.retainers.helpers import periods, retainer_contract


async def test_only_the_period_that_is_due_waits_on_the_clients_dashboard(db, client, contractor):
    contract = await retainer_contract(db, client.user, contractor.user, period="week")
    current, nxt, later = await periods(db, contract)
    assert {m.status for m in (current, nxt, later)} == {MilestoneStatus.pending}

    home = (await client.get("/dashboard")).text
    assert "Milestones to fund (1)" in home
    assert f"#milestone-{current.id}" in home
    assert f"#milestone-{nxt.id}" not in home and f"#milestone-{later.id}" not in home

"""Demo data: open jobs from the demo client and one proposal from the demo contractor, once."""

from sqlalchemy import func, select

from app.marketplace.models import Job, JobStatus, Proposal
from app.platform.seed import demo_seed


async def test_demo_seed_adds_open_jobs_and_a_proposal_once(app, db, anonymous):
    await demo_seed(app.state.resources)
    await demo_seed(app.state.resources)
    jobs = (await db.scalars(select(Job))).all()
    open_jobs = [j for j in jobs if j.status == JobStatus.open]
    assert len(open_jobs) == 4  # the fifth is the demo contract's job, filled by its accepted proposal
    waiting = await db.scalar(select(func.count()).select_from(Proposal).where(Proposal.status == "submitted"))
    assert waiting == 1
    page = await anonymous.get("/jobs", params={"q": "bakery logo"})
    assert "Logo and brand colours for a neighbourhood bakery" in page.text

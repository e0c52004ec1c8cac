"""Every page of each persona fits a 360 px and a 390 px wide phone, even when what people typed is
one long unbroken word (a contract or job title, a company name, a headline, a person's name):
nothing sticks out sideways."""

from datetime import date

import pytest

from app.accounts.mfa import enable, totp
from app.accounts.models import Role
from app.companies.forms import read_company
from app.companies.services import create_company, membership_of, request_verification
from app.files.storage import storage_for
from app.marketplace.forms import JobInput, MilestoneInput, ProposalInput
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import accept, apply, create_job
from app.money import Money
from app.profiles.seed import demo_png
from app.profiles.services import add_portfolio_item, ensure_profile, submit_documents
from tests.conftest import ADMIN_TOTP
from tests.support.browser import sign_in
from tests.support.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

# No hyphen or space anywhere: a browser may break a line at neither.
WORD = "Physiotherapiepraxisterminbuchungssystemmodernisierungsprojekt"
COMPANY = "Oberndorferpräzisionsmaschinenbaugesellschaftmitbeschränkterhaftung"
CLIENT_NAME = "Constança Albuquerquevasconcelosdemenezesdasilveira"
CONTRACTOR_NAME = "Maximilian Oberndorferschwarzenbergerhausenmüller"
WIDTHS = (360, 390)

# Lists each element sticking out past the right edge, innermost first: a failure names what to fix.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const clipped = e => {  // inside a box that hides what sticks out of it (an ellipsis, a scroller)
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible' && a.getBoundingClientRect().right <= width + 0.5) return true;
    return false;
  };
  const out = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 0.5 && !clipped(e));
  return out.filter(e => !out.some(o => o !== e && e.contains(o))).slice(0, 6).map(e =>
    `<${e.tagName.toLowerCase()}${e.className && typeof e.className === 'string' ? ' class="' + e.className + '"' : ''}>`
    + ` right=${Math.round(e.getBoundingClientRect().right)} ${(e.textContent || '').trim().slice(0, 40)}`);
}"""


async def sideways(page, paths: list[str]) -> str:
    """For each width and path, what sticks out; empty when every page fits."""
    found = {}
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 740})
        for path in paths:
            response = await page.goto(path)
            assert response.status == 200, f"{path}: {response.status}"
            offenders = await page.evaluate(OVERFLOWING)
            if offenders:
                found[f"{width}px {path}"] = offenders
    return "\n".join(f"{page}:\n    " + "\n    ".join(offenders) for page, offenders in found.items())


@pytest.fixture
async def long_words(db, app):
    """A client with a company, jobs, a proposal and an active contract; a contractor with a profile
    waiting for its identity check; an admin. Every title and name is one long word."""
    from app.contracts.drafting import services as drafting
    from app.contracts.signing import services as signing
    from app.contracts.terms import PlatformFee

    client = await make_user(db, role=Role.client, name=CLIENT_NAME)
    contractor = await make_user(db, role=Role.contractor, name=CONTRACTOR_NAME)
    admin = await make_user(db, role=Role.admin, name="Ada Administratorin" + "x" * 30)
    await enable(db, admin, ADMIN_TOTP, app.state.settings.secret_key)
    await create_company(db, client, read_company({"name": COMPANY, "country": "DE", "registration_number": "HRB" + "1" * 30,
                                                   "vat_id": "", "address": "Industriestraße 1"}))  # fmt: skip
    await request_verification(db, await membership_of(db, client))

    def job_input(title):
        return JobInput(title=title, description=f"{WORD} " * 20, skills=["python", WORD[:39]],
                        budget_type=BudgetType.fixed, budget=Money(123456789), deadline=date(2030, 1, 1),
                        visibility=Visibility.public)  # fmt: skip

    hired = await create_job(db, client, job_input(WORD), publish_now=True)
    still_open = await create_job(db, client, job_input(WORD[::-1]), publish_now=True)
    profile = await ensure_profile(db, contractor)
    profile.headline, profile.skills, profile.country = WORD, ["python", WORD[:39]], "DE"
    await db.commit()
    storage = storage_for(app.state.settings)
    await add_portfolio_item(db, storage, contractor, title=WORD[:100], url=f"https://example.com/{WORD}", image=None)
    await db.commit()
    await submit_documents(db, storage, contractor, demo_png((1, 2, 3)), demo_png((4, 5, 6)))

    proposal = await apply(
        db, hired.id, contractor,
        ProposalInput(cover_letter=f"{WORD} " * 5, amount=Money(123456789),
                      milestones=[MilestoneInput(WORD, Money(123456789), date(2030, 2, 1))]),
    )  # fmt: skip
    await accept(db, proposal.id, client)
    contract = await drafting.draft_from_proposal(db, proposal.id, client)
    version = await signing.send(db, contract.id, client, fee=PlatformFee.current(app.state.settings))
    for person in (client, contractor):
        await signing.sign(db, contract.id, person, version_hash=version.terms_hash, typed_name=person.name,
                             consent=True, context=signing.SignContext(ip="203.0.113.9"))  # fmt: skip
    await db.commit()
    return {
        "client": client, "contractor": contractor, "admin": admin, "contract": contract, "proposal": proposal,
        "hired": hired, "open": still_open, "slug": profile.slug,
    }  # fmt: skip


async def test_client_pages_fit_360_and_390_px(small_phone, long_words):
    contract, job = long_words["contract"], long_words["hired"]
    await sign_in(small_phone, long_words["client"].email)
    paths = ["/dashboard", "/company", "/company/intake", "/company/templates", "/jobs/mine", "/jobs/new",
             f"/jobs/{job.id}", f"/jobs/{job.id}/proposals", f"/proposals/{long_words['proposal'].id}",
             "/contracts", f"/contracts/{contract.id}", f"/contracts/{contract.id}/versions",
             f"/contracts/{contract.id}/versions/1", f"/contracts/{contract.id}/amendments/new", "/settings"]  # fmt: skip
    overflow = await sideways(small_phone, paths)
    assert not overflow, overflow
    assert small_phone.problems.errors == [], small_phone.problems.errors


async def test_contractor_pages_fit_360_and_390_px(small_phone, long_words):
    contract = long_words["contract"]
    await sign_in(small_phone, long_words["contractor"].email)
    paths = ["/dashboard", "/jobs", f"/jobs/{long_words['open'].id}", f"/jobs/{long_words['open'].id}/apply",
             "/profile", "/profile/verification", "/proposals", f"/proposals/{long_words['proposal'].id}",
             "/contracts", f"/contracts/{contract.id}", f"/c/{long_words['slug']}", "/settings", "/earnings"]  # fmt: skip
    overflow = await sideways(small_phone, paths)
    assert not overflow, overflow
    assert small_phone.problems.errors == [], small_phone.problems.errors


async def test_admin_console_fits_360_and_390_px(small_phone, long_words):
    await small_phone.goto("/login?next=/admin")
    await small_phone.get_by_label("Email").fill(long_words["admin"].email)
    await small_phone.get_by_label("Password").fill(PASSWORD)
    await small_phone.get_by_role("button", name="Sign in").click()
    await small_phone.get_by_label("Sign-in code").fill(totp(ADMIN_TOTP).now())
    await small_phone.get_by_role("button", name="Continue").click()
    await small_phone.wait_for_url("**/admin")
    paths = ["/admin", "/admin/users", "/admin/companies", "/admin/kyc", "/admin/leads", "/admin/jobs",
             "/admin/audit", "/admin/templates", f"/contracts/{long_words['contract'].id}"]  # fmt: skip
    overflow = await sideways(small_phone, paths)
    assert not overflow, overflow
    assert small_phone.problems.errors == [], small_phone.problems.errors


async def test_visitor_pages_fit_360_and_390_px(small_phone, long_words):
    paths = ["/", "/jobs", f"/jobs/{long_words['open'].id}", f"/c/{long_words['slug']}",
             f"/verify/{long_words['contract'].public_id}", "/login", "/signup", "/quote"]  # fmt: skip
    overflow = await sideways(small_phone, paths)
    assert not overflow, overflow
    assert small_phone.problems.errors == [], small_phone.problems.errors


async def test_job_pages_fit_a_desktop_with_the_company_badge(desktop, db):
    client = await make_user(db, role=Role.client)
    await create_company(db, client, read_company({"name": "Acme Robotics", "country": "DE",
                                                   "registration_number": "HRB 1", "vat_id": "", "address": "Industriestraße 1"}))  # fmt: skip
    job = await create_job(
        db, client,
        JobInput(title="Logo and brand colours for a neighbourhood bakery", description="x " * 50, skills=["python"], budget_type=BudgetType.fixed,
                 budget=Money(100000), deadline=date(2030, 1, 1), visibility=Visibility.public),
        publish_now=True,
    )  # fmt: skip
    await db.commit()
    await sign_in(desktop, client.email)  # the owner's view has the sidebar and the Manage card
    await desktop.goto(f"/jobs/{job.id}")
    assert await desktop.evaluate(OVERFLOWING) == []

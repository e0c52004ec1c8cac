"""Find work: weighted full-text search, filters, sorting, pagination, htmx results, visibility."""

from datetime import timedelta

from sqlalchemy import update

from app.db import utcnow
from app.marketplace.models import BudgetType, Job, Visibility
from tests.marketplace.helpers import make_job


def titles_in(html: str, *titles: str) -> list[str]:
    """The given titles in the order they appear on the page (missing ones left out)."""
    found = [(html.find(t), t) for t in titles if t in html]
    return [t for _, t in sorted(found)]


async def test_title_matches_rank_above_skills_and_description(client, anonymous, db):
    await make_job(
        db, client.user, title="Bakery website", description="Pages for a shop selling bread.", skills=["wordpress"]
    )
    await make_job(
        db, client.user, title="Shop photos", description="Photograph our products.", skills=["logo", "photography"]
    )
    await make_job(
        db, client.user, title="Menu design", description="A menu and a logo for our café.", skills=["print"]
    )
    await make_job(db, client.user, title="Logo for a bakery", description="Something friendly.", skills=["branding"])
    page = await anonymous.get("/jobs", params={"q": "logo"})
    assert page.status_code == 200
    assert "3 open jobs" in page.text
    assert titles_in(page.text, "Logo for a bakery", "Shop photos", "Menu design") == [
        "Logo for a bakery",
        "Shop photos",
        "Menu design",
    ]
    assert "Bakery website" not in page.text


async def test_web_search_syntax_and_stemming(client, anonymous, db):
    await make_job(db, client.user, title="Designing logos for cafés", skills=[])
    await make_job(db, client.user, title="Logo for a print shop", description="Business cards and print work.")
    page = await anonymous.get("/jobs", params={"q": "logo -print"})
    assert "Designing logos for cafés" in page.text and "Logo for a print shop" not in page.text
    quoted = await anonymous.get("/jobs", params={"q": '"print shop"'})
    assert "Logo for a print shop" in quoted.text and "Designing logos" not in quoted.text


async def test_search_never_returns_drafts_invite_only_or_closed_jobs(client, contractor, db):
    await make_job(db, client.user, title="Public logo job")
    await make_job(db, client.user, title="Secret logo job", visibility=Visibility.invite_only)
    await make_job(db, client.user, title="Draft logo job", publish=False)
    closed = await make_job(db, client.user, title="Closed logo job")
    await db.execute(update(Job).where(Job.id == closed.id).values(status="closed"))
    await db.commit()
    for params in ({"q": "logo"}, {}):
        page = await contractor.get("/jobs", params=params)
        assert "Public logo job" in page.text
        assert "Secret logo job" not in page.text
        assert "Draft logo job" not in page.text
        assert "Closed logo job" not in page.text
    secret = (await db.execute(Job.__table__.select().where(Job.title == "Secret logo job"))).first()
    assert (await contractor.get(f"/jobs/{secret.id}")).status_code == 404


async def test_filters_skills_type_budget_and_posted_within(client, anonymous, db):
    await make_job(
        db, client.user, title="Python script", skills=["python"], budget_type=BudgetType.hourly, budget="50"
    )
    await make_job(db, client.user, title="Django shop", skills=["python", "django"], budget="4000")
    await make_job(db, client.user, title="Old Python job", skills=["python"], budget="300")
    await make_job(db, client.user, title="Wedding photos", skills=["photography"], budget="900")
    await db.execute(
        update(Job).where(Job.title == "Old Python job").values(published_at=utcnow() - timedelta(days=10))
    )
    await db.commit()

    async def shown(**params):
        html = (await anonymous.get("/jobs", params=params)).text
        return set(titles_in(html, "Python script", "Django shop", "Old Python job", "Wedding photos"))

    assert await shown(skills="Python") == {"Python script", "Django shop", "Old Python job"}
    assert await shown(skills="python", type="hourly") == {"Python script"}
    assert await shown(budget_min="500") == {"Django shop", "Wedding photos"}
    assert await shown(budget_min="100", budget_max="1000") == {"Old Python job", "Wedding photos"}
    assert await shown(posted="7") == {"Python script", "Django shop", "Wedding photos"}
    page = await anonymous.get("/jobs", params={"sort": "budget_high"})
    assert titles_in(page.text, "Python script", "Django shop", "Old Python job", "Wedding photos") == [
        "Django shop",
        "Wedding photos",
        "Old Python job",
        "Python script",
    ]
    bad = await anonymous.get("/jobs", params={"budget_min": "lots"})
    assert bad.status_code == 200 and "Enter an amount like 1200" in bad.text


async def test_htmx_gets_only_the_results_and_pages_keep_the_filters(client, anonymous, db):
    for n in range(23):
        await make_job(db, client.user, title=f"Logo number {n}")
    response = await anonymous.get(
        "/jobs", params={"q": "logo", "sort": "newest"}, headers={"HX-Request": "true", "HX-Target": "job-results"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text and "23 open jobs" in response.text
    assert response.headers["vary"] == "HX-Request"
    assert "Logo number 22" in response.text and "Logo number 2<" not in response.text
    assert "page=2" in response.text and "q=logo" in response.text
    second = await anonymous.get("/jobs", params={"q": "logo", "sort": "newest", "page": "2"})
    assert "Logo number 2<" in second.text and "Logo number 22" not in second.text
    beyond = await anonymous.get("/jobs", params={"q": "logo", "page": "9"})
    assert "past the last one" in beyond.text and "23 open jobs" in beyond.text
    assert "Logo number" not in beyond.text
    # The full page (a shared link, or the back button) has the filters filled in.
    assert 'value="logo"' in second.text and "<html" in second.text


async def test_odd_input_never_breaks_the_page(anonymous, client, db):
    await make_job(db, client.user, title="Logo for a bakery")
    for q in ["'\"&|!:*()", "or or -", "a" * 500, "logo & | !"]:
        response = await anonymous.get("/jobs", params={"q": q, "page": "x", "sort": "sideways", "type": "both"})
        assert response.status_code == 200, q
    assert "Logo for a bakery" in (await anonymous.get("/jobs", params={"q": "logo & | !"})).text

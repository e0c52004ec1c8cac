"""Editing contract templates: administrators the platform's, company owners their company's."""

import contextlib

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.companies.models import Company, CompanyMember, MemberRole
from app.contracts.models import StoredTemplate
from app.contracts.templates.platform_templates import FIXED_PRICE, PLATFORM_TEMPLATES
from app.contracts.templates.services import available_templates, clause_text, get_template
from app.contracts.templates.templating import TemplateProblem
from tests.conftest import persona

FIXED = "/admin/templates/fixed-price-project"
NEW = "/company/templates/new"
PARTIES = "client_name | Client\ncontractor_name | Contractor"


@contextlib.asynccontextmanager
async def fresh(app):
    """A session of its own: what another request would see now."""
    async with app.state.sessionmaker() as session:
        yield session


async def company_for(db, owner, name="Acme Robotics") -> Company:
    company = Company(name=name, registration_number="HRB 1", country="DE", address="1 Main St", created_by=owner.id)
    db.add(company)
    await db.flush()
    db.add(CompanyMember(company_id=company.id, user_id=owner.id, role=MemberRole.owner))
    await db.commit()
    return company


def template_form(**changes) -> dict[str, str]:
    return {
        "title": "Website project",
        "kind": "milestone",
        "body": "{{ client_name }} hires {{ contractor_name }} to build a website.",
        "placeholders": PARTIES,
    } | changes


async def stored_count(app) -> int:
    async with fresh(app) as s:
        return await s.scalar(select(func.count()).select_from(StoredTemplate))


async def audit_kinds(app) -> list[str]:
    async with fresh(app) as s:
        return list(
            await s.scalars(
                select(AuditEvent.kind).where(AuditEvent.subject_type == "contract_template").order_by(AuditEvent.seq)
            )
        )


# ---------------------------------------------------------------- platform templates


async def test_an_admin_edit_replaces_the_built_in_text_until_reset(app, admin):
    listing = await admin.get("/admin/templates")
    assert listing.status_code == 200 and "Fixed-price project with milestones" in listing.text
    assert "Built-in" in listing.text and "Edited by" not in listing.text

    form = await admin.get(f"{FIXED}/edit")
    assert form.status_code == 200 and "client_name | Client" in form.text
    body = FIXED_PRICE.body.replace(
        "within {{ review_window_days }} days", "within {{ review_window_days }} working days"
    )
    placeholders = "\n".join(f"{p.name} | {p.label}" for p in FIXED_PRICE.placeholders)
    saved = await admin.post_form(
        f"{FIXED}/edit", {"title": "Fixed-price project", "kind": "rider", "body": body, "placeholders": placeholders}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/templates"

    async with fresh(app) as s:
        (edited,) = [t for t in await available_templates(s, None) if t.key == "fixed-price-project"]
        assert await get_template(s, "fixed-price-project", None) == edited
    assert "working days" in edited.body and edited.title == "Fixed-price project"
    assert edited.kind == "milestone"  # the kind of a platform template is fixed
    assert "working days" in await clause_text(edited, {p.name: "x" for p in edited.placeholders})
    listing = await admin.get("/admin/templates")
    assert f"Edited by {admin.user.name} on" in listing.text
    assert await audit_kinds(app) == ["contract_template_saved"]

    reset = await admin.post_form(f"{FIXED}/reset")
    assert reset.status_code == 303
    async with fresh(app) as s:
        (restored,) = [t for t in await available_templates(s, None, "milestone") if t.key == "fixed-price-project"]
        event = await s.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert restored == PLATFORM_TEMPLATES["fixed-price-project"]
    assert (event.kind, event.subject_type, event.subject_id, event.actor_id) == (
        "contract_template_reset",
        "contract_template",
        "fixed-price-project",
        admin.user.id,
    )
    assert await stored_count(app) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hello {{ client_name }}, the code is {{ secret }}.", "not declared: secret"),
        ("{{ client_name.__class__ }}", "is not allowed"),
        ("{% include 'base.html' %}", "cannot include"),
    ],
)
async def test_unsafe_or_undeclared_platform_text_is_refused_and_nothing_is_stored(app, admin, body, message):
    response = await admin.post_form(
        f"{FIXED}/edit", {"title": "Fixed-price project", "body": body, "placeholders": PARTIES}
    )
    assert response.status_code == 422 and message in response.text
    assert str(escape(body)) in response.text  # the text comes back, as typed, to be fixed
    assert await stored_count(app) == 0 and await audit_kinds(app) == []


async def test_blank_fields_and_bad_placeholder_lines_are_named_next_to_their_field(app, admin):
    response = await admin.post_form(
        f"{FIXED}/edit", {"title": " ", "body": "", "placeholders": "client name | Client\nclass | Class"}
    )
    assert response.status_code == 422
    assert "Give the template a name" in response.text and "Write the text of the template" in response.text
    assert "“client name” can&#39;t be a placeholder name" in response.text
    assert "“class” can&#39;t be a placeholder name" in response.text
    assert 'id="field-placeholders-error"' in response.text
    assert await stored_count(app) == 0


async def test_preview_shows_labels_in_brackets_and_stores_nothing(app, admin):
    response = await admin.post_form(
        f"{FIXED}/edit",
        {"title": "Fixed", "body": "Between {{ client_name }} and {{ contractor_name }}.", "placeholders": PARTIES, "action": "preview"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Between [Client] and [Contractor]." in response.text
    assert await stored_count(app) == 0 and await audit_kinds(app) == []


async def test_an_unknown_platform_template_is_not_found(admin):
    assert (await admin.get("/admin/templates/no-such-template/edit")).status_code == 404
    assert (await admin.post_form("/admin/templates/no-such-template/reset")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/admin/templates"), ("get", f"{FIXED}/edit"), ("post", f"{FIXED}/edit"), ("post", f"{FIXED}/reset")],
)
async def test_template_console_is_not_found_for_clients_and_contractors(app, client, contractor, method, path):
    for user in (client, contractor):
        if method == "get":
            response = await user.get(path)
        else:
            response = await user.post_form(path, template_form())
        assert response.status_code == 404
    assert await stored_count(app) == 0


async def test_visitors_are_asked_to_sign_in(anonymous):
    response = await anonymous.get("/admin/templates")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/admin/templates")


# ---------------------------------------------------------------- company templates


async def test_an_owner_creates_a_template_only_their_company_can_use(app, client, db):
    acme = await company_for(db, client.user)
    async with persona(app, db, Role.client, "beta@example.test") as other_owner:
        beta = await company_for(db, other_owner.user, "Beta Builders")
        page = await client.get(NEW)
        assert page.status_code == 200 and "Kind of contract" in page.text
        created = await client.post_form(NEW, template_form(kind="rider", title="Agency NDA"))
        assert created.status_code == 303 and created.headers["location"] == "/company/templates"

        async with fresh(app) as s:
            mine = [t for t in await available_templates(s, acme.id) if t.key not in PLATFORM_TEMPLATES]
            theirs = [t.key for t in await available_templates(s, beta.id)]
            riders = [t.key for t in await available_templates(s, acme.id, "rider")]
            (template,) = mine
            assert await get_template(s, template.key, beta.id) is None
            assert await get_template(s, template.key, None) is None
            assert await get_template(s, template.key, acme.id) == template
        assert template.key.startswith(f"company-{acme.id}-agency-nda-") and template.kind == "rider"
        assert template.key not in theirs and sorted(theirs) == sorted(PLATFORM_TEMPLATES)
        assert riders == ["confidentiality-rider", template.key]
        filled = await clause_text(template, {"client_name": "Acme", "contractor_name": "Conor"})
        assert filled.startswith("Acme hires Conor")
        with pytest.raises(TemplateProblem, match="Fill in: contractor_name"):
            await clause_text(template, {"client_name": "Acme"})

        listing = await client.get("/company/templates")
        assert "Agency NDA" in listing.text and "hires" in listing.text
        assert "Agency NDA" not in (await other_owner.get("/company/templates")).text

        # Editing keeps the key that drafts refer to.
        row_id = await db.scalar(select(StoredTemplate.id))
        edited = await client.post_form(
            f"/company/templates/{row_id}/edit", template_form(title="Agency NDA 2026", body="{{ client_name }} only.")
        )
        assert edited.status_code == 303
        async with fresh(app) as s:
            (after,) = [t for t in await available_templates(s, acme.id) if t.key not in PLATFORM_TEMPLATES]
        assert (
            after.key == template.key and after.title == "Agency NDA 2026" and after.body == "{{ client_name }} only.\n"
        )
        assert await audit_kinds(app) == ["contract_template_saved", "contract_template_saved"]

        # Another company's owner can neither open, change nor delete it.
        assert (await other_owner.get(f"/company/templates/{row_id}/edit")).status_code == 404
        assert (await other_owner.post_form(f"/company/templates/{row_id}/edit", template_form())).status_code == 404
        assert (await other_owner.post_form(f"/company/templates/{row_id}/delete")).status_code == 404
        assert await stored_count(app) == 1

        deleted = await client.post_form(f"/company/templates/{row_id}/delete")
        assert deleted.status_code == 303 and await stored_count(app) == 0
        assert (await audit_kinds(app))[-1] == "contract_template_deleted"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"body": "{{ client_name }} and {{ secret }}"}, "not declared: secret"),
        ({"body": "{{ x.__class__ }}", "placeholders": "x | X"}, "is not allowed"),
        ({"kind": "lease"}, "Choose what kind of contract"),
        ({"placeholders": "1st | First"}, "can&#39;t be a placeholder name"),
    ],
)
async def test_bad_company_templates_are_refused_with_the_message(app, client, db, changes, message):
    await company_for(db, client.user)
    response = await client.post_form(NEW, template_form(**changes))
    assert response.status_code == 422 and message in response.text
    assert await stored_count(app) == 0 and await audit_kinds(app) == []


async def test_company_preview_renders_labels(app, client, db):
    await company_for(db, client.user)
    response = await client.post_form(NEW, template_form(action="preview"))
    assert response.status_code == 200 and "[Client] hires [Contractor] to build a website." in response.text
    assert await stored_count(app) == 0


async def test_a_member_sees_the_templates_but_cannot_change_them(app, client, db):
    acme = await company_for(db, client.user)
    assert (await client.post_form(NEW, template_form())).status_code == 303
    row_id = await db.scalar(select(StoredTemplate.id))
    async with persona(app, db, Role.client, "colleague@example.test") as colleague:
        db.add(CompanyMember(company_id=acme.id, user_id=colleague.user.id, role=MemberRole.member))
        await db.commit()
        listing = await colleague.get("/company/templates")
        assert listing.status_code == 200 and "Website project" in listing.text
        assert "New template" not in listing.text and f"/company/templates/{row_id}/edit" not in listing.text
        assert (await colleague.get(NEW)).status_code == 404
        assert (await colleague.post_form(NEW, template_form(title="Sneaky"))).status_code == 404
        assert (await colleague.get(f"/company/templates/{row_id}/edit")).status_code == 404
        assert (
            await colleague.post_form(f"/company/templates/{row_id}/edit", template_form(title="Sneaky"))
        ).status_code == 404
        assert (await colleague.post_form(f"/company/templates/{row_id}/delete")).status_code == 404
    async with fresh(app) as s:
        assert list(await s.scalars(select(StoredTemplate.title))) == ["Website project"]


async def test_contractors_and_people_without_a_company_get_not_found(app, client, contractor, db, anonymous):
    await company_for(db, client.user)
    assert (await client.post_form(NEW, template_form())).status_code == 303
    row_id = await db.scalar(select(StoredTemplate.id))
    edit = f"/company/templates/{row_id}/edit"
    async with persona(app, db, Role.client, "loner@example.test") as loner:
        for user in (contractor, loner):
            assert (await user.get("/company/templates")).status_code == 404
            assert (await user.get(edit)).status_code == 404
            assert (await user.post_form(edit, template_form(title="Taken over"))).status_code == 404
            assert (await user.post_form(f"/company/templates/{row_id}/delete")).status_code == 404
    assert (await anonymous.get(edit)).status_code == 303
    async with fresh(app) as s:
        assert list(await s.scalars(select(StoredTemplate.title))) == ["Website project"]


async def test_the_console_and_company_pages_link_to_the_templates(admin, client, db):
    assert 'href="/admin/templates"' in (await admin.get("/admin")).text
    await company_for(db, client.user)
    assert 'href="/company/templates"' in (await client.get("/company")).text


@pytest.mark.browser
async def test_an_owner_writes_previews_and_saves_a_template_on_a_phone(phone, db):
    from playwright.async_api import expect

    from tests.support.browser import sign_in
    from tests.support.factories import make_user

    owner = await make_user(db, role=Role.client, name="Olga Owner")
    await company_for(db, owner)
    await sign_in(phone, owner.email)
    await phone.goto("/company")
    await phone.get_by_role("link", name="Open contract templates").click()
    await phone.get_by_role("link", name="New template").first.click()

    await phone.get_by_label("Template name").fill("Agency NDA")
    await phone.get_by_label("Kind of contract").select_option("rider")
    await phone.get_by_label("Contract text").fill("{{ client_name }} and {{ agency }} keep secrets.")
    await phone.get_by_label("Placeholders (one per line: name | Label)").fill("client_name | Client")
    await phone.get_by_role("button", name="Save template").click()
    await expect(phone.get_by_text("These placeholders are not declared: agency.").first).to_be_visible()

    await phone.get_by_label("Placeholders (one per line: name | Label)").fill("client_name | Client\nagency | Agency")
    await phone.get_by_role("button", name="Preview").click()
    await expect(phone.get_by_text("[Client] and [Agency] keep secrets.")).to_be_visible()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the form scrolls sideways on a phone"
    await phone.get_by_role("button", name="Save template").click()
    await expect(phone.get_by_role("heading", name="Agency NDA")).to_be_visible()
    assert phone.problems.errors == []

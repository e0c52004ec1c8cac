"""Pages to edit contract templates: administrators the platform's, company owners their company's."""

from __future__ import annotations

from dataclasses import replace

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash

from app.accounts.guards import CurrentUser, requires_admin, requires_role
from app.accounts.models import Role
from app.companies.services import Membership, membership_of
from app.contracts.templates import services as store
from app.contracts.templates.forms import TemplateForm, read_template, wants_preview
from app.db import DB
from app.errors import FormError, NotFound
from app.web.forms import FormData
from app.web.htmx import see_other
from app.web.templating import render

FORM_PAGE = "contracts/templates/form.html"
# A refused form needs no rollback: the store checks a template before it writes anything,
# and the request's session is rolled back unless a handler commits.


def _form_page(request: Request, context: dict, *, status_code: int = 200) -> Response:
    defaults = {"errors": {}, "preview": None, "kinds": store.KINDS, "admin": False, "template_id": None, "key": None}
    return render(request, FORM_PAGE, defaults | context, status_code=status_code)


class PlatformTemplateController(Controller):
    """Console: the platform templates. The built-in text stays in code; an edit replaces it until reset."""

    path = "/admin/templates"
    guards = [requires_admin]

    @get("/", name="admin:templates")
    async def index(self, request: Request, db: DB) -> Response:
        return render(
            request,
            "contracts/templates/admin_list.html",
            {"entries": await store.platform_entries(db), "kinds": store.KINDS},
        )

    def _page(self, request: Request, entry: store.PlatformEntry, form: TemplateForm, **context) -> Response:
        status_code = context.pop("status_code", 200)
        context = {"admin": True, "entry": entry, "key": entry.template.key, "form": form} | context
        return _form_page(request, context, status_code=status_code)

    @get("/{key:str}/edit", name="admin:template-edit")
    async def edit(self, request: Request, key: FromPath[str], db: DB) -> Response:
        entry = await store.platform_entry(db, key)
        return self._page(request, entry, TemplateForm.of(entry.template))

    @post("/{key:str}/edit", name="admin:template-save")
    async def save(self, request: Request, key: FromPath[str], data: FormData, db: DB, user: CurrentUser) -> Response:
        entry = await store.platform_entry(db, key)
        form = replace(read_template(data), kind=entry.template.kind)  # fixed for platform templates
        try:
            if wants_preview(data):
                return self._page(request, entry, form, preview=await store.preview(form))
            await store.save_platform(db, user, key, form)
        except FormError as exc:
            return self._page(request, entry, form, errors=exc.errors, status_code=422)
        await db.commit()
        flash(request, f"“{form.title}” is saved. New contracts use the new text.", category="success")
        return see_other(request, request.app.route_reverse("admin:templates"))

    @post("/{key:str}/reset", name="admin:template-reset")
    async def reset(self, request: Request, key: FromPath[str], db: DB, user: CurrentUser) -> Response:
        dropped = await store.reset_platform(db, user, key)
        await db.commit()
        if dropped:
            flash(request, "The template is back to Pactline's built-in text.", category="success")
        else:
            flash(request, "The template already had Pactline's built-in text.", category="info")
        return see_other(request, request.app.route_reverse("admin:templates"))


class CompanyTemplateController(Controller):
    """A company's own templates: everyone in the company sees them, only the owner changes them."""

    path = "/company/templates"
    guards = [requires_role(Role.client)]

    async def _membership(self, db: DB, user: CurrentUser, *, owner: bool = False) -> Membership:
        # No company, or only a member where an owner is needed: as if the page did not exist.
        membership = await membership_of(db, user)
        if membership is None or (owner and not membership.is_owner):
            raise NotFound("company template")
        return membership

    @get("/", name="companies:templates")
    async def index(self, request: Request, db: DB, user: CurrentUser) -> Response:
        membership = await self._membership(db, user)
        rows = await store.company_templates(db, membership.company.id)
        context = {"membership": membership, "rows": rows, "kinds": store.KINDS}
        return render(request, "contracts/templates/company_list.html", context)

    @get("/new", name="companies:template-new")
    async def new(self, request: Request, db: DB, user: CurrentUser) -> Response:
        membership = await self._membership(db, user, owner=True)
        return _form_page(request, {"membership": membership, "form": TemplateForm(kind="milestone")})

    @post("/new", name="companies:template-create")
    async def create(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        membership = await self._membership(db, user, owner=True)
        form = read_template(data)
        try:
            if wants_preview(data):
                return _form_page(
                    request, {"membership": membership, "form": form, "preview": await store.preview(form)}
                )
            await store.create_company_template(db, user, membership.company.id, form)
        except FormError as exc:
            context = {"membership": membership, "form": form, "errors": exc.errors}
            return _form_page(request, context, status_code=422)
        await db.commit()
        flash(request, f"“{form.title}” is saved. You can use it in new contracts.", category="success")
        return see_other(request, request.app.route_reverse("companies:templates"))

    @get("/{template_id:int}/edit", name="companies:template-edit")
    async def edit(self, request: Request, template_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        membership = await self._membership(db, user, owner=True)
        row = await store.company_template(db, membership.company.id, template_id)
        form = TemplateForm.of(store.as_template(row))
        return _form_page(request, {"membership": membership, "form": form, "template_id": row.id})

    @post("/{template_id:int}/edit", name="companies:template-save")
    async def save(
        self, request: Request, template_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        membership = await self._membership(db, user, owner=True)
        row = await store.company_template(db, membership.company.id, template_id)
        form = read_template(data)
        context = {"membership": membership, "form": form, "template_id": row.id}
        try:
            if wants_preview(data):
                return _form_page(request, context | {"preview": await store.preview(form)})
            await store.update_company_template(db, user, membership.company.id, row.id, form)
        except FormError as exc:
            return _form_page(request, context | {"errors": exc.errors}, status_code=422)
        await db.commit()
        flash(request, f"“{form.title}” is saved.", category="success")
        return see_other(request, request.app.route_reverse("companies:templates"))

    @post("/{template_id:int}/delete", name="companies:template-delete")
    async def delete(self, request: Request, template_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        membership = await self._membership(db, user, owner=True)
        row = await store.delete_company_template(db, user, membership.company.id, template_id)
        await db.commit()
        flash(request, f"“{row.title}” is deleted.", category="info")
        return see_other(request, request.app.route_reverse("companies:templates"))

"""Contract templates people edit: administrators' edits of the platform templates and companies' own.

Platform templates live in code (platform_templates.py); a `contract_templates` row without a
company replaces the built-in text of the same key until an administrator resets it. Company rows
belong to one company and have keys ("company-<id>-<slug>-<random>") that can never equal a
platform key or be reused after a delete. Every text is checked by the sandbox before it is stored."""

from __future__ import annotations

import hashlib
import json
import keyword
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.audit import chain
from app.contracts.models import StoredTemplate
from app.contracts.templates.forms import TemplateForm
from app.contracts.templates.platform_templates import PLATFORM_TEMPLATES
from app.contracts.templates.templating import (
    ContractTemplate,
    Placeholder,
    TemplateInvalid,
    TemplateLimit,
    TemplateProblem,
    TemplateUnavailable,
    render_all,
)
from app.db import utcnow
from app.errors import FormError, NotFound

KINDS = {"milestone": "Project with milestones", "retainer": "Retainer", "rider": "Rider (extra clauses)"}
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_LABEL = 100
MAX_PLACEHOLDERS = 40
MAX_PLACEHOLDER_TEXT = 10_000  # 40 lines of a name and a 100-character label, with room to spare
_KEY_LENGTH = 60  # contract_templates.key


# ---------------------------------------------------------------- what the contract editor calls


def as_template(row: StoredTemplate) -> ContractTemplate:
    placeholders = tuple(Placeholder(p["name"], p["label"]) for p in row.placeholders)
    return ContractTemplate(key=row.key, title=row.title, kind=row.kind, body=row.body, placeholders=placeholders)


async def _overrides(db: AsyncSession) -> dict[str, StoredTemplate]:
    rows = await db.scalars(select(StoredTemplate).where(StoredTemplate.company_id.is_(None)))
    return {row.key: row for row in rows}


def _platform(key: str, override: StoredTemplate | None) -> ContractTemplate:
    # The kind of a platform template is fixed by its code, whatever a row says.
    built_in = PLATFORM_TEMPLATES[key]
    if override is None:
        return built_in
    edited = as_template(override)
    return ContractTemplate(built_in.key, edited.title, built_in.kind, edited.body, edited.placeholders)


async def available_templates(
    db: AsyncSession, company_id: int | None, kind: str | None = None
) -> list[ContractTemplate]:
    """The platform templates (with administrators' edits) and, after them, the company's own."""
    overrides = await _overrides(db)
    found = [_platform(key, overrides.get(key)) for key in PLATFORM_TEMPLATES]
    if company_id is not None:
        rows = await db.scalars(
            select(StoredTemplate).where(StoredTemplate.company_id == company_id).order_by(StoredTemplate.title)
        )
        found += [as_template(row) for row in rows]
    return [t for t in found if kind is None or t.kind == kind]


async def get_template(db: AsyncSession, key: str, company_id: int | None) -> ContractTemplate | None:
    """A template the company may use (platform ones for everybody), or None."""
    if key in PLATFORM_TEMPLATES:
        override = await db.scalar(
            select(StoredTemplate).where(StoredTemplate.company_id.is_(None), StoredTemplate.key == key)
        )
        return _platform(key, override)
    if company_id is None:
        return None
    row = await db.scalar(
        select(StoredTemplate).where(StoredTemplate.company_id == company_id, StoredTemplate.key == key)
    )
    return as_template(row) if row is not None else None


async def clause_text(template: ContractTemplate, values: dict[str, object]) -> str:
    """The template's text with the values filled in; TemplateProblem names any missing value."""
    (text,) = await clause_texts([(template, values)])
    if isinstance(text, TemplateProblem):
        raise text
    return text


async def clause_texts(jobs: list[tuple[ContractTemplate, dict[str, object]]]) -> list[str | TemplateProblem]:
    """Several templates filled in at once (one isolated render, one deadline)."""
    return await render_all(jobs)


# ---------------------------------------------------------------- reading and checking the edit form


def _placeholders(text: str, errors: dict[str, list[str]]) -> tuple[Placeholder, ...]:
    if len(text) > MAX_PLACEHOLDER_TEXT:
        errors.setdefault("placeholders", []).append(
            f"Keep the list under {MAX_PLACEHOLDER_TEXT:,} characters (at most {MAX_PLACEHOLDERS} placeholders)."
        )
        return ()
    found: list[Placeholder] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, _, label = (part.strip() for part in line.partition("|"))
        problem = None
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            problem = (
                f"Line {number}: “{name[:MAX_LABEL]}” can't be a placeholder name. Use letters, digits and "
                "underscores, starting with a letter, like client_name."
            )
        elif name in seen:
            problem = f"Line {number}: “{name}” is listed twice."
        elif len(label) > MAX_LABEL:
            problem = f"Line {number}: keep the label under {MAX_LABEL} characters."
        if problem:
            errors.setdefault("placeholders", []).append(problem)
            continue
        found.append(Placeholder(name, label or name.replace("_", " ").capitalize()))
        seen.add(name)
    if len(found) > MAX_PLACEHOLDERS:
        errors.setdefault("placeholders", []).append(f"Use at most {MAX_PLACEHOLDERS} placeholders.")
    return tuple(found)


def _sample_values(template: ContractTemplate) -> dict[str, object]:
    return {p.name: f"[{p.label}]" for p in template.placeholders}


async def checked(form: TemplateForm, *, key: str = "") -> tuple[ContractTemplate, str | TemplateProblem]:
    """The template the form describes with its text filled in with sample values (each
    placeholder's label in brackets), or FormError with a message for each field to fix.

    The sample fill-in runs the template within the sandbox's limits, so a template that would
    loop or grow without end is refused here, when it is saved. Other problems with the sample
    values (a comparison of "[Total]" with a number, say) are left for the preview to show: real
    values may be fine."""
    errors: dict[str, list[str]] = {}
    title, body = form.title.strip(), form.body.strip()
    if not title:
        errors["title"] = ["Give the template a name, e.g. “Website project”."]
    elif len(title) > MAX_TITLE:
        errors["title"] = [f"Keep the name under {MAX_TITLE} characters."]
    if form.kind not in KINDS:
        errors["kind"] = ["Choose what kind of contract this template is for."]
    placeholders = _placeholders(form.placeholders, errors)
    if "\x00" in form.title + form.body + form.placeholders:
        errors.setdefault("body", []).append("The text contains a character that can't be stored (NUL).")
    template = ContractTemplate(key=key, title=title, kind=form.kind, body=body + "\n", placeholders=placeholders)
    sample: str | TemplateProblem = ""
    if not body:
        errors["body"] = ["Write the text of the template."]
    elif len(body) > MAX_BODY:
        errors["body"] = [f"Keep the text under {MAX_BODY:,} characters."]
    elif "placeholders" not in errors and "body" not in errors:
        (sample,) = await render_all([(template, _sample_values(template))])
        if isinstance(sample, TemplateInvalid | TemplateLimit | TemplateUnavailable):
            errors["body"] = [str(sample)]
    if errors:
        raise FormError(errors)
    return template, sample


async def preview(form: TemplateForm) -> str:
    """The text with each placeholder shown as its label in brackets, e.g. “[Client]”."""
    _, sample = await checked(form)
    if isinstance(sample, TemplateProblem):
        raise FormError({"body": [str(sample)]})
    return sample


def _fingerprint(template: ContractTemplate) -> dict[str, object]:
    # The audit chain records which text was saved without copying it into every event.
    content = json.dumps(
        {"body": template.body, "placeholders": [[p.name, p.label] for p in template.placeholders]},
        sort_keys=True,
        separators=(",", ":"),
    )
    return {"title": template.title, "kind": template.kind, "sha256": hashlib.sha256(content.encode()).hexdigest()}


def _columns(template: ContractTemplate, user: User) -> dict[str, object]:
    return {
        "title": template.title,
        "kind": template.kind,
        "body": template.body,
        "placeholders": [{"name": p.name, "label": p.label} for p in template.placeholders],
        "updated_by": user.id,
        "updated_at": utcnow(),
    }


# ---------------------------------------------------------------- platform templates (administrators)


@dataclass(frozen=True)
class PlatformEntry:
    template: ContractTemplate
    edited_by: str | None  # None: the built-in text
    edited_at: datetime | None


async def platform_entries(db: AsyncSession) -> list[PlatformEntry]:
    overrides = await _overrides(db)
    editor_ids = {row.updated_by for row in overrides.values() if row.updated_by is not None}
    names = dict((await db.execute(select(User.id, User.name).where(User.id.in_(editor_ids)))).all())
    entries = []
    for key in PLATFORM_TEMPLATES:
        row = overrides.get(key)
        if row is None:
            entries.append(PlatformEntry(_platform(key, None), None, None))
        else:
            editor = names.get(row.updated_by, "a former administrator")
            entries.append(PlatformEntry(_platform(key, row), editor, row.updated_at))
    return entries


async def platform_entry(db: AsyncSession, key: str) -> PlatformEntry:
    for entry in await platform_entries(db):
        if entry.template.key == key:
            return entry
    raise NotFound(key)


async def save_platform(db: AsyncSession, admin: User, key: str, form: TemplateForm) -> ContractTemplate:
    """Store an administrator's text for a platform template (its kind stays the built-in's)."""
    if key not in PLATFORM_TEMPLATES:
        raise NotFound(key)
    template, _ = await checked(
        TemplateForm(form.title, PLATFORM_TEMPLATES[key].kind, form.body, form.placeholders), key=key
    )
    columns = _columns(template, admin)
    # Two administrators saving at once: the later save wins, no duplicate row.
    statement = insert(StoredTemplate).values(company_id=None, key=key, **columns)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], index_where=StoredTemplate.company_id.is_(None), set_=columns
        )
    )
    await chain.append(
        db,
        "contract_template_saved",
        actor_id=admin.id,
        subject_type="contract_template",
        subject_id=key,
        data={"scope": "platform", **_fingerprint(template)},
    )
    return template


async def reset_platform(db: AsyncSession, admin: User, key: str) -> bool:
    """Back to the built-in text; False when there was no edit to drop."""
    if key not in PLATFORM_TEMPLATES:
        raise NotFound(key)
    dropped = await db.scalar(
        delete(StoredTemplate)
        .where(StoredTemplate.company_id.is_(None), StoredTemplate.key == key)
        .returning(StoredTemplate.id)
    )
    if dropped is None:
        return False
    await chain.append(
        db,
        "contract_template_reset",
        actor_id=admin.id,
        subject_type="contract_template",
        subject_id=key,
        data={"scope": "platform", **_fingerprint(PLATFORM_TEMPLATES[key])},
    )
    return True


# ---------------------------------------------------------------- company templates (owners edit, members read)


async def company_templates(db: AsyncSession, company_id: int) -> list[StoredTemplate]:
    return list(
        await db.scalars(
            select(StoredTemplate).where(StoredTemplate.company_id == company_id).order_by(StoredTemplate.title)
        )
    )


async def company_template(
    db: AsyncSession, company_id: int, template_id: int, *, lock: bool = False
) -> StoredTemplate:
    """The company's template with this id; another company's (or none) is NotFound."""
    query = select(StoredTemplate).where(StoredTemplate.id == template_id, StoredTemplate.company_id == company_id)
    row = await db.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(template_id)
    return row


def _company_key(company_id: int, title: str) -> str:
    prefix, suffix = f"company-{company_id}-", "-" + secrets.token_hex(3)
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[: _KEY_LENGTH - len(prefix) - len(suffix)].strip("-")
    return prefix + (slug or "template") + suffix


async def _audit_company(
    db: AsyncSession, kind: str, user: User, row: StoredTemplate, template: ContractTemplate
) -> None:
    await chain.append(
        db,
        kind,
        actor_id=user.id,
        subject_type="contract_template",
        subject_id=row.key,
        data={"scope": "company", "company_id": row.company_id, **_fingerprint(template)},
    )


async def create_company_template(db: AsyncSession, owner: User, company_id: int, form: TemplateForm) -> StoredTemplate:
    """The caller has checked that `owner` owns the company."""
    template, _ = await checked(form, key=_company_key(company_id, form.title.strip()))
    row = StoredTemplate(company_id=company_id, key=template.key, **_columns(template, owner))
    db.add(row)
    await db.flush()
    await _audit_company(db, "contract_template_saved", owner, row, template)
    return row


async def update_company_template(
    db: AsyncSession, owner: User, company_id: int, template_id: int, form: TemplateForm
) -> StoredTemplate:
    row = await company_template(db, company_id, template_id, lock=True)
    template, _ = await checked(form, key=row.key)  # the key stays: drafts refer to it
    for name, value in _columns(template, owner).items():
        setattr(row, name, value)
    await db.flush()
    await _audit_company(db, "contract_template_saved", owner, row, template)
    return row


async def delete_company_template(db: AsyncSession, owner: User, company_id: int, template_id: int) -> StoredTemplate:
    row = await company_template(db, company_id, template_id, lock=True)
    await _audit_company(db, "contract_template_deleted", owner, row, as_template(row))
    await db.delete(row)
    await db.flush()
    return row

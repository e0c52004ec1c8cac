"""The drafting forms: the contract editor (terms → form values and back, with a message per field)
and the "new contract" form.

Milestones are numbered rows (`m<N>_title`, `m<N>_criteria`, `m<N>_amount`, `m<N>_due`); the
row buttons (add, remove, move up/down) arrive as `op` and reshape the list before it is
saved, so the same form works with and without JavaScript."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.contracts.terms import ContractKind, MilestoneTerms, Retainer, TemplateRef, Terms
from app.errors import FormError
from app.money import CURRENCIES, Money, MoneyError
from app.web.forms import Errors, text, whole_number

MIN_REVIEW_DAYS, MAX_REVIEW_DAYS = 3, 30
MAX_MILESTONES = 30
# Each rider is up to 40 000 characters of filled-in text that every version, PDF and diff carries.
MAX_RIDERS = 5
# Generous for real contracts, small enough that a draft stays a draft and not a database load.
MAX_LENGTH = {"scope": 20_000, "custom_clauses": 20_000, "criteria": 4_000, "milestone_title": 200, "title": 200}
PERIODS = {"month": "Every month", "week": "Every week"}
_ROW = re.compile(r"^m(\d{1,2})_(title|criteria|amount|due)$")
_OP = re.compile(r"^(add|remove|up|down)(?:-(\d{1,2}))?$")
_TEMPLATE_KEY = re.compile(r"^[a-z0-9-]{1,60}$")  # contract_templates.key


def plain_amount(amount_minor: int | None) -> str:
    """150050 → "1500.50", the way a person types it back."""
    if amount_minor is None:
        return ""
    whole, cents = divmod(int(amount_minor), 100)
    return f"{whole}.{cents:02d}" if cents else str(whole)


@dataclass
class Parsed:
    terms: Terms
    errors: Errors = field(default_factory=Errors)
    # Rows exactly as typed, so a form with mistakes re-renders what the person wrote.
    rows: list[dict[str, str]] = field(default_factory=list)
    # Hand-filled template placeholder values (`tv_<name>` fields), before each template keeps its own.
    values: dict[str, str] = field(default_factory=dict)
    # The working copy's revision the form was loaded from (the compare-and-set of a save), if sent.
    rev: int | None = None
    # The milestone row button that was pressed (add, remove, move), "" for Save, Send and autosave.
    op: str = ""


def form_from_terms(terms: Terms) -> dict[str, Any]:
    retainer = terms.retainer
    form: dict[str, Any] = {
        "title": terms.title,
        "scope": terms.scope,
        "kind": terms.kind.value,
        "currency": terms.currency,
        "review_window_days": str(terms.review_window_days),
        "stated_total": plain_amount(terms.stated_total_minor),
        "retainer_amount": plain_amount(retainer.amount_minor if retainer else None),
        "retainer_period": retainer.period if retainer else "month",
        "retainer_start": iso_or_blank(retainer.start_date) if retainer else "",
        "template_key": terms.template.key if terms.template else "",
        "riders": [r.key for r in terms.riders],
        "custom_clauses": "\n\n".join(terms.custom_clauses),
    }
    for ref in ([terms.template] if terms.template else []) + list(terms.riders):
        for name, value in ref.values.items():
            form[f"tv_{name}"] = str(value)
    return form


def iso_or_blank(day: date | None) -> str:
    return day.isoformat() if day else ""


def rows_from_terms(terms: Terms) -> list[dict[str, str]]:
    return [
        {
            "title": m.title,
            "criteria": m.acceptance_criteria,
            "amount": plain_amount(m.amount_minor),
            "due": iso_or_blank(m.due_date),
        }
        for m in terms.milestones
    ]


def _rows(data: dict[str, Any]) -> list[dict[str, str]]:
    numbered: dict[int, dict[str, str]] = {}
    for key in data:
        match = _ROW.match(key)
        if match:
            numbered.setdefault(int(match[1]), {})[match[2]] = text(data, key)
    rows = [numbered[n] for n in sorted(numbered)]
    return [{k: r.get(k, "") for k in ("title", "criteria", "amount", "due")} for r in rows]


def apply_op(rows: list[dict[str, str]], op: str) -> list[dict[str, str]]:
    """Reshape the milestone rows for a row button; an unknown op changes nothing."""
    match = _OP.match(op or "")
    if not match:
        return rows
    action, index = match[1], int(match[2]) if match[2] is not None else None
    rows = list(rows)
    if action == "add" and len(rows) < MAX_MILESTONES:
        rows.append({"title": "", "criteria": "", "amount": "", "due": ""})
    elif index is None or not 0 <= index < len(rows):
        return rows
    elif action == "remove":
        rows.pop(index)
    elif action == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif action == "down" and index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    return rows


def _is_blank(row: dict[str, str]) -> bool:
    return not any(row.values())


def _date(value: str, errors: Errors, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(name, "Enter a date like 2030-03-31.")
        return None


def _amount(value: str, currency: str, errors: Errors, name: str, *, required: bool) -> int | None:
    if not value:
        if required:
            errors.add(name, "Enter an amount.")
        return None
    try:
        money = Money.parse(value, currency)
    except MoneyError as exc:
        errors.add(name, str(exc))
        return None
    if money.amount_minor <= 0:
        errors.add(name, "Enter an amount above zero.")
        return None
    return money.amount_minor


def read_draft(data: dict[str, Any], *, row_buttons: bool = False) -> Parsed:
    """The posted editor as terms (without the rendered template clauses: drafting/clauses.py adds
    them), reshaped by a row button's `op`; its mistakes are in `errors`, not raised, because the
    editor re-renders what was typed row by row."""
    errors = Errors()
    for name, value in data.items():
        # Postgres can't store a NUL (in text or JSON) and no person types one.
        if any("\x00" in str(v) for v in (value if isinstance(value, list) else [value])):
            errors.add(name, "Remove the NUL character.")
    currency = text(data, "currency") or "EUR"
    if currency not in CURRENCIES:
        errors.add("currency", "Choose EUR, USD or GBP.")
        currency = "EUR"
    kind = text(data, "kind") or "milestone"
    if kind not in ("milestone", "retainer"):
        errors.add("kind", "Choose milestones or a retainer.")
        kind = "milestone"
    window_text = text(data, "review_window_days") or "7"
    window = whole_number(window_text) or 0
    if not MIN_REVIEW_DAYS <= window <= MAX_REVIEW_DAYS:
        errors.add("review_window_days", f"Choose between {MIN_REVIEW_DAYS} and {MAX_REVIEW_DAYS} days.")
        window = min(max(window, MIN_REVIEW_DAYS), MAX_REVIEW_DAYS)
    title = text(data, "title")
    for name in ("title", "scope", "custom_clauses"):
        if len(text(data, name)) > MAX_LENGTH[name]:
            errors.add(name, f"Keep this under {MAX_LENGTH[name]:,} characters.".replace(",", " "))
    op = text(data, "op") if row_buttons else ""
    rows = apply_op(_rows(data), op)
    milestones = []
    if kind == "milestone":
        for n, row in enumerate(rows):
            if _is_blank(row):
                continue
            if not row["title"]:
                errors.add(f"m{n}_title", "Give this milestone a title.")
            elif len(row["title"]) > MAX_LENGTH["milestone_title"]:
                errors.add(f"m{n}_title", "Keep the title under 200 characters.")
            if len(row["criteria"]) > MAX_LENGTH["criteria"]:
                errors.add(f"m{n}_criteria", "Keep this under 4 000 characters.")
            amount = _amount(row["amount"], currency, errors, f"m{n}_amount", required=True)
            due = _date(row["due"], errors, f"m{n}_due")
            milestones.append(MilestoneTerms(row["title"][:200], amount or 0, row["criteria"], due))
    retainer = None
    if kind == "retainer":
        period = text(data, "retainer_period") or "month"
        if period not in PERIODS:
            errors.add("retainer_period", "Choose every month or every week.")
            period = "month"
        retainer = Retainer(
            _amount(text(data, "retainer_amount"), currency, errors, "retainer_amount", required=False),
            period,
            _date(text(data, "retainer_start"), errors, "retainer_start"),
        )
    stated = _amount(text(data, "stated_total"), currency, errors, "stated_total", required=False)
    custom = [p.strip() for p in re.split(r"\n\s*\n", text(data, "custom_clauses").replace("\r", "")) if p.strip()]
    raw_riders = data.get("riders") or []
    riders = list(dict.fromkeys(str(r).strip() for r in ([raw_riders] if isinstance(raw_riders, str) else raw_riders)))
    if any(key and not _TEMPLATE_KEY.match(key) for key in riders):
        errors.add("riders", "Choose riders from the list.")
    riders = [key for key in riders if _TEMPLATE_KEY.match(key)]
    if len(riders) > MAX_RIDERS:
        errors.add("riders", f"Choose at most {MAX_RIDERS} riders for one contract.")
        riders = riders[:MAX_RIDERS]
    values = {k[3:]: text(data, k) for k in data if k.startswith("tv_")}
    template_key = text(data, "template_key")
    if template_key and not _TEMPLATE_KEY.match(template_key):
        errors.add("template_key", "Choose standard terms from the list.")
        template_key = ""
    terms = Terms(
        title=title,
        scope=text(data, "scope"),
        kind=ContractKind(kind),
        currency=currency,
        review_window_days=window,
        stated_total_minor=stated if kind == "milestone" else None,
        milestones=tuple(milestones),
        retainer=retainer,
        template=TemplateRef(template_key) if template_key else None,
        riders=tuple(TemplateRef(key) for key in riders),
        custom_clauses=tuple(custom),
    )
    return Parsed(terms, errors, rows, values, whole_number(text(data, "rev")), op)


@dataclass(frozen=True)
class NewContractInput:
    contractor_id: int
    title: str


def read_new_contract(data: dict[str, Any]) -> NewContractInput:
    """The "new contract" form: who it is with and its title."""
    contractor_id = whole_number(text(data, "contractor_id"))
    title = text(data, "title")
    errors = Errors()
    if contractor_id is None:
        errors.add("contractor_id", "Choose who the contract is with.")
    if not title:
        errors.add("title", "Give the contract a title, for example “Website redesign”.")
    if errors or contractor_id is None:
        raise FormError(dict(errors))
    return NewContractInput(contractor_id, title)

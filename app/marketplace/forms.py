"""Marketplace forms: a job, a proposal and the job search, read into typed inputs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.errors import FormError
from app.marketplace.models import BudgetType, Job, Visibility
from app.money import CURRENCIES, DEFAULT_CURRENCY, Money, MoneyError
from app.web.forms import Errors, text

MAX_SKILLS = 10
MAX_MILESTONES = 5
POSTED_WITHIN = {"1": 1, "7": 7, "30": 30}
SORTS = ("relevance", "newest", "budget_high", "budget_low")
JOB_FIELDS = ("title", "description", "skills", "budget_type", "budget", "currency", "deadline", "visibility")
PROPOSAL_FIELDS = ("cover_letter", "amount") + tuple(
    f"milestone_{part}_{n}" for n in range(1, MAX_MILESTONES + 1) for part in ("title", "amount", "due")
)
SEARCH_KEYS = ("q", "skills", "type", "budget_min", "budget_max", "posted", "sort")


def typed(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """What was typed into the named fields, to show the form again."""
    return {name: text(data, name) for name in names}


def _date(value: str, errors: Errors, name: str, *, not_before: date | None = None) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        errors.add(name, "Enter a date like 2026-12-31.")
        return None
    if not_before and parsed < not_before:
        errors.add(name, "Choose a date from today onwards.")
    return parsed


def parse_skills(value: str) -> list[str]:
    """'Python, Django , python' → ['python', 'django'] (order kept, duplicates dropped)."""
    seen: list[str] = []
    for part in re.split(r"[,\n]", value or ""):
        skill = " ".join(part.split()).lower()
        if skill and skill not in seen:
            seen.append(skill)
    return seen


# ---------------------------------------------------------------- a job


@dataclass(frozen=True)
class JobInput:
    title: str
    description: str
    skills: list[str]
    budget_type: BudgetType
    budget: Money
    deadline: date | None
    visibility: Visibility


def read_job(data: dict[str, Any]) -> JobInput:
    form = typed(data, JOB_FIELDS)
    errors = Errors()
    title, description = form["title"], form["description"]
    if len(title) < 5:
        errors.add("title", "Give the job a title of at least 5 characters, e.g. “Logo for a bakery”.")
    elif len(title) > 200:
        errors.add("title", "Keep the title under 200 characters.")
    if len(description) < 20:
        errors.add("description", "Describe the work in at least 20 characters: what you need and by when.")
    elif len(description) > 10_000:
        errors.add("description", "Keep the description under 10,000 characters.")
    skills = parse_skills(form["skills"])
    if len(skills) > MAX_SKILLS:
        errors.add("skills", f"List at most {MAX_SKILLS} skills.")
    if any(len(s) > 40 for s in skills):
        errors.add("skills", "Each skill must be under 40 characters. Separate skills with commas.")
    budget_type = form["budget_type"]
    if budget_type not in (BudgetType.fixed, BudgetType.hourly):
        errors.add("budget_type", "Choose a fixed price or an hourly rate.")
    currency = form["currency"]
    if currency not in CURRENCIES:
        errors.add("currency", "Choose EUR, USD or GBP.")
        currency = DEFAULT_CURRENCY
    budget = Money(0, currency)
    try:
        budget = Money.parse(form["budget"], currency)
        if budget.amount_minor <= 0:
            errors.add("budget", "The budget must be more than zero.")
    except MoneyError as exc:
        errors.add("budget", str(exc))
    deadline = _date(form["deadline"], errors, "deadline", not_before=date.today())
    visibility = form["visibility"]
    if visibility not in (Visibility.public, Visibility.invite_only):
        errors.add("visibility", "Choose who can see the job.")
    if errors:
        raise FormError(errors)
    return JobInput(
        title=title,
        description=description,
        skills=skills,
        budget_type=BudgetType(budget_type),
        budget=budget,
        deadline=deadline,
        visibility=Visibility(visibility),
    )


# ---------------------------------------------------------------- a proposal


@dataclass(frozen=True)
class MilestoneInput:
    title: str
    amount: Money
    due_date: date | None


@dataclass(frozen=True)
class ProposalInput:
    cover_letter: str
    amount: Money
    milestones: list[MilestoneInput] = field(default_factory=list)


def milestone_total(form: Mapping[str, str], currency: str) -> tuple[Money, int]:
    """The sum of the milestone amounts typed so far (unreadable amounts count as zero), and how many."""
    amounts = []
    for n in range(1, MAX_MILESTONES + 1):
        try:
            amounts.append(Money.parse(form.get(f"milestone_amount_{n}", ""), currency))
        except MoneyError:
            continue
    return Money(sum(a.amount_minor for a in amounts), currency), len(amounts)


def read_proposal(data: dict[str, Any], job: Job) -> ProposalInput:
    """A proposal for `job`: in its currency, with milestones (fixed-price jobs only) adding up to the amount."""
    form = typed(data, PROPOSAL_FIELDS)
    errors = Errors()
    cover = form["cover_letter"]
    if len(cover) < 30:
        errors.add("cover_letter", "Write at least 30 characters: why you are a good fit and how you would do it.")
    elif len(cover) > 10_000:
        errors.add("cover_letter", "Keep the cover letter under 10,000 characters.")
    amount = Money(0, job.currency)
    try:
        amount = Money.parse(form["amount"], job.currency)
        if amount.amount_minor <= 0:
            errors.add("amount", "The amount must be more than zero.")
    except MoneyError as exc:
        errors.add("amount", str(exc))
    milestones: list[MilestoneInput] = []
    if not job.is_hourly:
        for n in range(1, MAX_MILESTONES + 1):
            title = form[f"milestone_title_{n}"]
            raw_amount = form[f"milestone_amount_{n}"]
            raw_due = form[f"milestone_due_{n}"]
            if not (title or raw_amount or raw_due):
                continue
            if not title:
                errors.add(f"milestone_title_{n}", f"Give milestone {n} a title.")
            elif len(title) > 200:
                errors.add(f"milestone_title_{n}", "Keep milestone titles under 200 characters.")
            m_amount = Money(0, job.currency)
            try:
                m_amount = Money.parse(raw_amount, job.currency)
                if m_amount.amount_minor <= 0:
                    errors.add(f"milestone_amount_{n}", f"Milestone {n} needs an amount above zero.")
            except MoneyError as exc:
                errors.add(f"milestone_amount_{n}", f"Milestone {n}: {exc}")
            due = _date(raw_due, errors, f"milestone_due_{n}", not_before=date.today())
            milestones.append(MilestoneInput(title, m_amount, due))
        if milestones and not errors:
            summed = Money(sum(m.amount.amount_minor for m in milestones), job.currency)
            if summed != amount:
                errors.add(
                    "amount",
                    f"Your milestones add up to {summed}, but you proposed {amount}. Make them match.",
                )
    if errors:
        raise FormError(errors)
    return ProposalInput(cover_letter=cover, amount=amount, milestones=milestones)


# ---------------------------------------------------------------- the job search


@dataclass(frozen=True)
class SearchInput:
    q: str = ""
    skills: list[str] = field(default_factory=list)
    budget_type: str = ""
    budget_min: Money | None = None
    budget_max: Money | None = None
    posted: str = ""
    sort: str = "relevance"
    page: int = 1


def read_search(query: Mapping[str, Any]) -> tuple[SearchInput, Errors]:
    """Query-string filters → SearchInput. Unlike a form, a search is never refused: an unreadable
    value is left out of the search and comes back with a message next to its field."""
    errors = Errors()
    q = str(query.get("q") or "").strip()[:200]
    budgets: dict[str, Money | None] = {"budget_min": None, "budget_max": None}
    for name in budgets:
        raw = str(query.get(name) or "").strip()
        if raw:
            try:
                budgets[name] = Money.parse(raw)
            except MoneyError as exc:
                errors.add(name, str(exc))
    sort = str(query.get("sort") or "")
    try:
        page = max(1, min(int(str(query.get("page") or 1)), 1000))
    except ValueError:
        page = 1
    params = SearchInput(
        q=q,
        skills=parse_skills(str(query.get("skills") or ""))[:MAX_SKILLS],
        budget_type=str(query["type"]) if query.get("type") in (BudgetType.fixed, BudgetType.hourly) else "",
        budget_min=budgets["budget_min"],
        budget_max=budgets["budget_max"],
        posted=str(query["posted"]) if query.get("posted") in POSTED_WITHIN else "",
        sort=sort if sort in SORTS else ("relevance" if q else "newest"),
        page=page,
    )
    return params, errors

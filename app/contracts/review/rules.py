"""The contract review assistant's rules: plain checks over a draft's terms, each with a weight
and a suggestion in plain words. Rules are data (RULES); the LLM adapter, when one is
configured, only adds findings — it never removes a rule's."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from app.contracts.terms import Terms


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "high" | "medium" | "low"
    message: str
    suggestion: str
    weight: int


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    weight: int
    check: Callable[[Terms], str | None]  # a message when the rule finds a problem
    suggestion: str


def _text(terms: Terms) -> str:
    return "\n".join([terms.scope, *terms.clauses]).lower()


def _missing_criteria(terms: Terms) -> str | None:
    missing = [
        m.title or f"#{i + 1}" for i, m in enumerate(terms.milestones) if len(m.acceptance_criteria.strip()) < 15
    ]
    if missing:
        return "These milestones don't say how the work will be judged: " + ", ".join(missing) + "."
    return None


def _short_review_window(terms: Terms) -> str | None:
    days = terms.review_window_days
    return f"The client has only {days} days to review submitted work." if days < 5 else None


def _no_ip_clause(terms: Terms) -> str | None:
    words = ("intellectual property", "ownership", "copyright", "licen")
    return None if any(w in _text(terms) for w in words) else "Nothing says who owns the work once it is paid for."


def _no_termination(terms: Terms) -> str | None:
    return (
        None
        if re.search(r"\bterminat|\bcancel", _text(terms))
        else "Nothing says how either side can end the contract early."
    )


def _unlimited_liability(terms: Terms) -> str | None:
    text = _text(terms)
    if re.search(r"unlimited liability|liable for (any and )?all|without limit", text):
        return "The terms make someone liable without any limit."
    return None


def _undated_deliverables(terms: Terms) -> str | None:
    undated = [m.title or f"#{i + 1}" for i, m in enumerate(terms.milestones) if not m.due_date]
    return ("These milestones have no due date: " + ", ".join(undated) + ".") if undated else None


def _sum_mismatch(terms: Terms) -> str | None:
    stated = terms.stated_total_minor
    if stated is None or not terms.milestones:
        return None
    total = terms.milestone_total
    if total != stated:
        return f"The milestones add up to {total / 100:,.2f} but the stated total is {stated / 100:,.2f}."
    return None


def _currency_mismatch(terms: Terms) -> str | None:
    currency = terms.currency
    others = sorted({m.currency for m in terms.milestones if m.currency and m.currency != currency})
    return f"Some milestones are in {', '.join(others)} while the contract is in {currency}." if others else None


def _vague_deliverables(terms: Terms) -> str | None:
    vague = re.compile(r"\b(etc|and so on|as needed|as required|misc|various|tbd|to be decided)\b")
    hits = [m.title for m in terms.milestones if vague.search(f"{m.title} {m.acceptance_criteria}".lower())]
    if vague.search(terms.scope.lower()):
        hits.append("the scope")
    return ("Vague wording (etc., as needed, TBD…) in " + ", ".join(h for h in hits if h) + ".") if hits else None


RULES: list[Rule] = [
    Rule("missing_acceptance_criteria", "high", 25, _missing_criteria, "Write for each milestone what “done” looks like, so approval is not a matter of opinion."),
    Rule("review_window_short", "medium", 10, _short_review_window, "Give the client at least 5 days to review; 7 is usual."),
    Rule("no_ip_clause", "medium", 15, _no_ip_clause, "Add a clause saying the client owns the work (or holds a licence) once each milestone is paid."),
    Rule("no_termination_clause", "medium", 10, _no_termination, "Say how either side can end the contract and what happens to work already done and paid."),
    Rule("unlimited_liability", "high", 20, _unlimited_liability, "Cap liability, for example at the contract's total value."),
    Rule("deliverables_without_dates", "low", 5, _undated_deliverables, "Give every milestone a due date so both sides can plan."),
    Rule("milestone_sum_mismatch", "high", 25, _sum_mismatch, "Make the milestone amounts add up to the total you agreed."),
    Rule("currency_mismatch", "high", 20, _currency_mismatch, "Use one currency for the whole contract."),
    Rule("vague_deliverables", "low", 5, _vague_deliverables, "Replace “etc.” and “as needed” with the concrete things to deliver."),
]  # fmt: skip


class ReviewAdapter(Protocol):
    """An optional second opinion (for example a language model). Off unless configured."""

    async def findings(self, terms: Terms) -> list[Finding]: ...


@dataclass(frozen=True)
class Review:
    findings: list[Finding]
    risk_score: int  # 0 (nothing found) … 100

    @property
    def level(self) -> str:
        return "high" if self.risk_score >= 50 else "medium" if self.risk_score >= 20 else "low"


def review(terms: Terms, today: date | None = None) -> Review:
    found = []
    for rule in RULES:
        message = rule.check(terms)
        if message:
            found.append(Finding(rule.code, rule.severity, message, rule.suggestion, rule.weight))
    return Review(found, min(100, sum(f.weight for f in found)))


async def review_with(terms: Terms, adapter: ReviewAdapter | None) -> Review:
    base = review(terms)
    if adapter is None:
        return base
    extra = [f for f in await adapter.findings(terms) if f.rule not in {b.rule for b in base.findings}]
    findings = base.findings + extra
    return Review(findings, min(100, sum(f.weight for f in findings)))

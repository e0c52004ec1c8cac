"""The chosen template and riders, filled in from the terms and the values typed by hand, become
the terms' clauses."""

from __future__ import annotations

from app.contracts.drafting.forms import Parsed, iso_or_blank
from app.contracts.templates.services import clause_texts
from app.contracts.templates.templating import ContractTemplate, Placeholder, TemplateProblem
from app.contracts.terms import TemplateRef, Terms
from app.money import Money

# Placeholders the editor fills from the terms themselves; a template's others become fields.
AUTOMATIC = {
    "client_name",
    "contractor_name",
    "project_title",
    "scope",
    "services",
    "review_window_days",
    "total",
    "amount_per_period",
    "start_date",
}


def automatic_values(terms: Terms, client_name: str, contractor_name: str) -> dict[str, str]:
    currency = terms.currency
    retainer = terms.retainer
    total = terms.stated_total_minor or terms.milestone_total
    return {
        "client_name": client_name,
        "contractor_name": contractor_name,
        "project_title": terms.title,
        "scope": terms.scope,
        "services": terms.scope,
        "review_window_days": str(terms.review_window_days),
        "total": Money(int(total or 0), currency).format(),
        "amount_per_period": Money(int((retainer.amount_minor if retainer else None) or 0), currency).format(),
        "start_date": iso_or_blank(retainer.start_date) if retainer else "",
    }


def extra_placeholders(template: ContractTemplate) -> list[Placeholder]:
    """The placeholders a person fills in by hand (the rest come from the terms)."""
    return [p for p in template.placeholders if p.name not in AUTOMATIC]


async def with_clauses(
    parsed: Parsed,
    chosen: list[ContractTemplate],
    client_name: str,
    contractor_name: str,
) -> Parsed:
    """Render the chosen template and riders into the terms' clauses, keeping only each one's
    own hand-filled values; an unfilled value is a field error, not a broken contract, and so is a
    template that is too heavy to fill in (the sandbox's limits, see templating.py)."""
    terms = parsed.terms
    automatic = automatic_values(terms, client_name, contractor_name)
    typed = parsed.values
    jobs: list[tuple[ContractTemplate, dict[str, object]]] = []
    for template in chosen:
        own = {p.name: typed.get(p.name, "") for p in extra_placeholders(template)}
        for name, value in own.items():
            if not value:
                parsed.errors.add(f"tv_{name}", "Fill this in; the contract text uses it.")
        jobs.append((template, automatic | {k: v or f"[{k}]" for k, v in own.items()}))
        ref = TemplateRef(template.key, own)
        if template.kind == "rider":
            terms = terms.with_(riders=(*(r for r in terms.riders if r.key != template.key), ref))
        else:
            terms = terms.with_(template=ref)
    clauses: list[str] = []
    for template, filled in zip(chosen, await clause_texts(jobs), strict=True):
        if isinstance(filled, TemplateProblem):
            field = "riders" if template.kind == "rider" else "template_key"
            parsed.errors.add(field, f"“{template.title}”: {filled}")
        else:
            clauses.append(filled)
    keys = {t.key for t in chosen}
    template = terms.template if terms.template and terms.template.key in keys else None
    parsed.terms = terms.with_(
        riders=tuple(r for r in terms.riders if r.key in keys),
        template=template,
        clauses=(*clauses, *terms.custom_clauses),
    )
    return parsed

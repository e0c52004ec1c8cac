"""Sandboxed contract templates with declared placeholders."""

import pytest

from app.contracts.review.rules import review
from app.contracts.templates.platform_templates import PLATFORM_TEMPLATES
from app.contracts.templates.templating import ContractTemplate, Placeholder, TemplateProblem, check_template, render
from app.contracts.terms import Terms

VALUES = {
    "client_name": "Acme Robotics GmbH", "contractor_name": "Conor Contractor", "project_title": "Booking website",
    "scope": "a five-page website with online booking", "review_window_days": 7, "total": "€3,000.00",
    "services": "bookkeeping", "amount_per_period": "€800.00", "start_date": "1 March 2030", "hours_per_month": 20,
    "confidential_years": 3,
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(PLATFORM_TEMPLATES))
async def test_every_platform_template_renders_with_its_placeholders(key):
    template = PLATFORM_TEMPLATES[key]
    text = await render(template, VALUES)
    assert "{{" not in text and "Acme Robotics GmbH" in text


async def test_the_fixed_price_template_passes_the_review_rules_on_clauses():
    text = await render(PLATFORM_TEMPLATES["fixed-price-project"], VALUES)
    findings = {f.rule for f in review(Terms(scope="x", clauses=(text,))).findings}
    assert not findings & {"no_ip_clause", "no_termination_clause", "unlimited_liability"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hello {{ client_name }} and {{ secret_value }}", "not declared: secret_value"),
        ("{{ client_name.__class__ }}", "is not allowed"),
        ("{% include 'base.html' %}", "cannot include"),
        ("{% extends 'base.html' %}", "cannot include"),
        ("{% if client_name %}unclosed", "Line 1"),
    ],
)
def test_unsafe_or_undeclared_templates_are_refused_with_a_clear_message(body, message):
    with pytest.raises(TemplateProblem, match=message):
        check_template(body, {"client_name"})


async def test_missing_values_are_named():
    template = ContractTemplate("t", "T", "rider", "{{ a }} {{ b }}", (Placeholder("a", "A"), Placeholder("b", "B")))
    with pytest.raises(TemplateProblem, match="Fill in: b"):
        await render(template, {"a": 1})


async def test_the_sandbox_blocks_unsafe_calls_at_render_time():
    template = ContractTemplate("t", "T", "rider", "{{ names.append('x') }}", (Placeholder("names", "Names"),))
    with pytest.raises(TemplateProblem):
        await render(template, {"names": []})

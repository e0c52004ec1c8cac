"""The review assistant's rules, one by one, and the risk score."""

import pytest

from app.contracts.review.rules import Finding, review, review_with
from app.contracts.terms import Terms

GOOD = {
    "title": "Website for a physiotherapy practice",
    "scope": "Design and build a five-page website with online booking.",
    "currency": "EUR",
    "review_window_days": 7,
    "stated_total_minor": 300000,
    "clauses": [
        "Ownership: the client owns the copyright in all delivered work once each milestone is paid.",
        "Termination: either party may terminate with 14 days' notice; work paid for stays with the client.",
        "Liability of either party is limited to the total value of this contract.",
    ],
    "milestones": [
        {
            "title": "Design",
            "acceptance_criteria": "Three page designs approved in writing.",
            "amount_minor": 100000,
            "due_date": "2030-02-01",
            "currency": "EUR",
        },
        {
            "title": "Build",
            "acceptance_criteria": "All pages live on staging, booking works on a phone.",
            "amount_minor": 200000,
            "due_date": "2030-03-01",
            "currency": "EUR",
        },
    ],
}


def codes(terms):
    return {f.rule for f in review(Terms.from_json(terms)).findings}


def test_a_well_written_contract_has_no_findings():
    result = review(Terms.from_json(GOOD))
    assert result.findings == [] and result.risk_score == 0 and result.level == "low"


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda t: t["milestones"][0].update(acceptance_criteria=""), "missing_acceptance_criteria"),
        (lambda t: t.update(review_window_days=3), "review_window_short"),
        (lambda t: t.update(clauses=[c for c in t["clauses"] if "Ownership" not in c]), "no_ip_clause"),
        (lambda t: t.update(clauses=[c for c in t["clauses"] if "Termination" not in c]), "no_termination_clause"),
        (lambda t: t["clauses"].append("The contractor accepts unlimited liability."), "unlimited_liability"),
        (lambda t: t["milestones"][1].update(due_date=None), "deliverables_without_dates"),
        (lambda t: t.update(stated_total_minor=250000), "milestone_sum_mismatch"),
        (lambda t: t["milestones"][1].update(currency="USD"), "currency_mismatch"),
        (lambda t: t.update(scope="Logo, cards, etc."), "vague_deliverables"),
    ],
)
def test_each_rule_finds_its_problem_and_only_its_problem(change, rule):
    import copy

    terms = copy.deepcopy(GOOD)
    change(terms)
    assert codes(terms) == {rule}


def test_the_score_grows_with_the_problems_and_is_capped():
    import copy

    terms = copy.deepcopy(GOOD)
    terms.update(review_window_days=2, clauses=["unlimited liability"], stated_total_minor=1, scope="stuff etc")
    for m in terms["milestones"]:
        m.update(acceptance_criteria="", due_date=None, currency="GBP")
    result = review(Terms.from_json(terms))
    assert result.risk_score == 100 and result.level == "high"
    assert all(f.suggestion for f in result.findings)


async def test_an_adapter_adds_findings_but_cannot_remove_the_rules():
    class Fake:
        async def findings(self, terms):
            return [
                Finding("missing_acceptance_criteria", "low", "duplicate", "ignored", 1),
                Finding("llm_tone", "low", "The scope reads as one-sided.", "Balance the obligations.", 5),
            ]

    import copy

    terms = copy.deepcopy(GOOD)
    terms["milestones"][0]["acceptance_criteria"] = ""
    result = await review_with(Terms.from_json(terms), Fake())
    assert [f.rule for f in result.findings] == ["missing_acceptance_criteria", "llm_tone"]
    assert result.risk_score == 30
    assert (await review_with(Terms.from_json(terms), None)).risk_score == 25

"""What changed between two versions, in words: fields, milestones added and removed, text diffs."""

import copy

from markupsafe import Markup

from app.contracts.signing.diff import ABSENT, Segment, align, date_text, diff_terms, money_text, summary, text_diff
from app.contracts.terms import Terms
from app.web.templating import make_environment

TERMS = {
    "title": "Booking website",
    "scope": "A five-page site.\nOnline booking for a clinic.\nHosting for one year.",
    "kind": "milestone",
    "currency": "EUR",
    "review_window_days": 7,
    "stated_total_minor": 300000,
    "milestones": [
        {
            "title": "Design",
            "acceptance_criteria": "Mock-ups approved",
            "amount_minor": 100000,
            "due_date": "2030-02-01",
        },
        {"title": "Build", "acceptance_criteria": "", "amount_minor": 200000, "due_date": "2030-03-01"},
    ],
    "retainer": None,
    "template": None,
    "clauses": ["The client owns the code once paid.", "Either party may end this with 14 days' notice."],
}


def diff(old, new):
    """Two versions' terms as stored."""
    return diff_terms(Terms.from_json(old), Terms.from_json(new))


def changed(**updates):
    terms = copy.deepcopy(TERMS)
    terms.update(updates)
    return terms


def by_label(changes):
    return {c.label: c for c in changes}


def test_the_same_terms_have_no_changes():
    assert diff(TERMS, copy.deepcopy(TERMS)) == []
    assert summary([]) == "No changes"


def test_an_amount_change_names_the_milestone_and_formats_both_amounts():
    new = copy.deepcopy(TERMS)
    new["milestones"][0]["amount_minor"] = 120000
    [change] = diff(TERMS, new)
    assert (change.label, change.old, change.new, change.kind) == (
        "Milestone 1 · amount",
        "€1,000.00",
        "€1,200.00",
        "changed",
    )
    assert summary([change]) == "1 change: amount of Design"


def test_simple_fields_read_as_people_write_them():
    new = changed(title="Clinic website", review_window_days=10, currency="GBP", kind="retainer")
    new["milestones"][1]["due_date"] = None
    changes = by_label(diff(TERMS, new))
    assert (changes["Title"].old, changes["Title"].new) == ("Booking website", "Clinic website")
    assert (changes["Review window"].old, changes["Review window"].new) == ("7 days", "10 days")
    assert (changes["Contract type"].old, changes["Contract type"].new) == (
        "Paid by milestone",
        "Retainer (regular payments)",
    )
    # A new currency shows every amount in it, and a date taken away is "—".
    assert (changes["Stated total"].old, changes["Stated total"].new) == ("€3,000.00", "£3,000.00")
    due = changes["Milestone 2 · due date"]
    assert (due.old, due.new, due.kind) == ("1 Mar 2030", ABSENT, "removed")


def test_an_added_milestone_is_one_change_not_a_cascade_of_shifted_fields():
    new = copy.deepcopy(TERMS)
    new["milestones"].insert(
        1, {"title": "Testing", "acceptance_criteria": "", "amount_minor": 50000, "due_date": "2030-02-15"}
    )
    changes = diff(TERMS, new)
    assert [(c.label, c.kind) for c in changes] == [("Milestone 2 added", "added")]
    assert changes[0].old == ABSENT and changes[0].new == "Testing · €500.00 · due 15 Feb 2030"
    assert summary(changes) == "1 change: new milestone Testing"


def test_a_removed_milestone_is_named_by_its_old_number():
    new = copy.deepcopy(TERMS)
    del new["milestones"][0]
    changes = diff(TERMS, new)
    assert [(c.label, c.kind, c.old, c.new) for c in changes] == [
        ("Milestone 1 removed", "removed", "Design · €1,000.00 · due 1 Feb 2030", ABSENT)
    ]


def test_a_renamed_milestone_with_the_same_count_is_matched_by_position():
    new = copy.deepcopy(TERMS)
    new["milestones"][1]["title"] = "Build and launch"
    changes = diff(TERMS, new)
    assert [(c.label, c.old, c.new) for c in changes] == [("Milestone 2 · title", "Build", "Build and launch")]


def test_several_changes_are_summarised_in_reading_order():
    new = changed(review_window_days=14)
    new["milestones"][0]["amount_minor"] = 90000
    new["milestones"].append({"title": "Testing", "amount_minor": 10000, "due_date": None})
    assert summary(diff(TERMS, new)) == "3 changes: review window, amount of Design, new milestone Testing"


def test_acceptance_criteria_and_clauses_carry_a_text_diff():
    new = copy.deepcopy(TERMS)
    new["milestones"][0]["acceptance_criteria"] = "Mock-ups approved in writing"
    new["clauses"][1] = "Either party may end this with 30 days' notice."
    changes = by_label(diff(TERMS, new))
    criteria = changes["Milestone 1 · acceptance criteria"]
    assert criteria.is_text and Segment(" in writing", "ins") in criteria.new_segments
    clause = changes["Clause 2"]
    assert Segment("14", "del") in clause.old_segments and Segment("30", "ins") in clause.new_segments
    assert "".join(s.text for s in clause.old_segments) == TERMS["clauses"][1]


def test_an_added_clause_in_the_middle_shifts_nothing():
    new = copy.deepcopy(TERMS)
    new["clauses"].insert(1, "Liability is limited to the contract price.")
    changes = diff(TERMS, new)
    assert [(c.label, c.kind, c.phrase) for c in changes] == [("Clause 2 added", "added", "new clause 2")]


def test_scope_diff_is_line_level_refined_to_words():
    old, new = text_diff(
        TERMS["scope"], "A five-page site.\nOnline booking for a dental clinic.\nHosting for one year."
    )
    assert "".join(s.text for s in old) == TERMS["scope"]
    assert [s for s in new if s.mark] == [Segment("dental ", "ins")]
    assert all(s.mark in ("", "del") for s in old) and all(s.mark in ("", "ins") for s in new)
    # A removed line and an added line.
    old, new = text_diff("one\ntwo\n", "one\nthree\nfour\n")
    assert "".join(s.text for s in new) == "one\nthree\nfour\n"
    assert [s.text for s in old if s.mark == "del"] == ["two"]


def test_scope_text_with_html_is_escaped_when_rendered():
    evil = changed(scope=TERMS["scope"] + "\n<script>alert('x')</script>")
    [change] = diff(TERMS, evil)
    assert change.label == "Scope"
    assert not any(isinstance(s.text, Markup) for s in change.new_segments)  # plain text, never marked safe
    env = make_environment()
    page = env.from_string(
        "{% for s in segs %}{% if s.mark == 'ins' %}<ins>{{ s.text }}</ins>{% else %}{{ s.text }}{% endif %}{% endfor %}"
    ).render(segs=change.new_segments)
    assert "<script>" not in page
    assert "<ins>\n&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</ins>" in page


def test_retainer_and_template_changes_are_listed():
    old = changed(kind="retainer", milestones=[], retainer={"amount_minor": 150000, "period": "month", "start_date": "2030-01-01"},
                  template={"key": "retainer", "values": {"notice_days": "14"}})  # fmt: skip
    new = copy.deepcopy(old)
    new["retainer"]["amount_minor"] = 175000
    new["retainer"]["period"] = "week"
    new["template"]["values"]["notice_days"] = "30"
    changes = by_label(diff(old, new))
    assert (changes["Retainer · amount"].old, changes["Retainer · amount"].new) == ("€1,500.00", "€1,750.00")
    assert (changes["Retainer · how often"].old, changes["Retainer · how often"].new) == ("Every month", "Every week")
    assert (changes["Template · notice days"].old, changes["Template · notice days"].new) == ("14", "30")


def test_older_drafts_without_kind_or_retainer_compare_cleanly():
    old = {k: v for k, v in TERMS.items() if k not in ("kind", "retainer", "template")}
    assert diff(old, TERMS) == []


def test_formatting_helpers():
    assert money_text(123456, "USD") == "$1,234.56"
    assert money_text(-5, "EUR") == "-€0.05"
    assert money_text(100, "CHF") == "1.00 CHF"
    assert money_text(None, "EUR") == ABSENT
    assert date_text("2030-02-01") == "1 Feb 2030" and date_text(None) == ABSENT and date_text("soon") == "soon"


def test_align_pairs_replaced_blocks_by_position_and_the_rest_as_added_or_removed():
    key = str.casefold
    assert align(["a", "b"], ["a", "x"], key) == [(0, 0), (1, 1)]
    assert align(["a", "b", "c"], ["a", "c"], key) == [(0, 0), (1, None), (2, 1)]
    assert align(["a", "b"], ["x", "y", "z"], key) == [(0, 0), (1, 1), (None, 2)]


def test_terms_view_shows_the_terms_with_amounts_dates_and_total():
    env = make_environment()
    html = env.from_string(
        '{% from "contracts/_terms.html" import terms_view %}{{ terms_view(t, heading_level=3) }}'
    ).render(t=changed(scope="First paragraph.\n\n<b>Second</b> paragraph."))
    assert '<h3 class="terms__title">Booking website</h3>' in html
    assert "€1,000.00" in html and "€2,000.00" in html and "€3,000.00" in html  # the milestones and their total
    assert "1 Feb 2030" in html and "7 days" in html and "Mock-ups approved" in html
    assert "&lt;b&gt;Second&lt;/b&gt; paragraph." in html and "<b>" not in html
    assert html.count('<p class="terms__text">') == 2 + 2  # two scope paragraphs, two clauses
    assert "The client owns the code once paid." in html
    retainer = env.from_string('{% from "contracts/_terms.html" import terms_view %}{{ terms_view(t) }}').render(
        t=changed(
            kind="retainer",
            milestones=[],
            retainer={"amount_minor": 150000, "period": "month", "start_date": "2030-01-01"},
        )
    )
    assert "Every month" in retainer and "€1,500.00" in retainer and "1 Jan 2030" in retainer
    assert "Milestones" not in retainer

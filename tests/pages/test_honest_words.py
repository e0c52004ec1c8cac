"""Honest words (decision 0033): the landing page, the standard clauses a new contract gets, the
contract editor and the contractor's invitation promise only what Pactline does. Escrow, the review
window, automatic approval and payouts to a bank (/earnings) work, so they are promised; disputes,
notifications and reviews of people are not promised until they exist (invoices and messages arrived). A promise
lands with its feature: the commit that ships one takes its words out of NOT_YET, and the route check below fails
until it does."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.contracts.drafting import services as drafting
from app.contracts.signing import services as signing
from app.contracts.templates.platform_templates import PLATFORM_TEMPLATES
from app.contracts.templates.templating import render
from app.contracts.versions import terms_hash
from app.web.templating import email_environment
from tests.contracts.helpers import FEE, accepted_proposal

# Words that promise a feature Pactline does not have yet, and the path its pages will live at
# (DESIGN §4); None where the feature has no page of its own to wait for.
NOT_YET: dict[str, tuple[str, str | None]] = {
    "disputes": (r"disput|mediat|arbitrat|decides? how the held money", "/disputes"),
    "reviews of people": (r"\bratings?\b|\bstars?\b|review (each other|the other)|leave a review|reputation", None),
}

GOLDEN = json.loads((Path(__file__).parents[1] / "contracts" / "golden" / "versions.json").read_text(encoding="utf-8"))
VALUES = {
    "client_name": "Acme Robotics GmbH", "contractor_name": "Conor Contractor", "project_title": "Booking website",
    "scope": "a five-page website with online booking", "review_window_days": 7, "total": "€3,000.00",
    "services": "bookkeeping", "amount_per_period": "€800.00", "start_date": "1 March 2030", "hours_per_month": 20,
    "confidential_years": 3,
}  # fmt: skip


class _Visible(HTMLParser):
    """The words a person reads: text outside <script>, <style> and <template>, and the page title."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("content", "alt", "aria-label", "placeholder", "title") and value:
                self.words.append(value)  # the meta description, labels and hints people see too

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.words.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.words).split())


def promises_too_early(text: str) -> list[str]:
    """Each feature that `text` promises before it exists, with the words that promise it."""
    found = []
    for feature, (pattern, _path) in NOT_YET.items():
        hits = sorted({m.group(0) for m in re.finditer(pattern, text, re.IGNORECASE)})
        if hits:
            found.append(f"{feature}: {', '.join(hits)}")
    return found


def test_each_word_waits_for_its_feature(app):
    """When a feature's pages arrive, its words may be promised: take them out of NOT_YET then."""
    paths = [route.path for route in app.routes]
    for feature, (_pattern, path) in NOT_YET.items():
        if path is not None:
            arrived = [p for p in paths if p == path or p.startswith(path + "/")]
            assert not arrived, f"{feature} exist now ({arrived[0]}): move their words out of NOT_YET"


def test_the_checker_catches_the_old_promises():
    old_landing = (
        "If you cannot agree, a member of our team looks at the evidence and decides how the held money is split."
    )
    assert promises_too_early(old_landing) == ["disputes: decides how the held money"]
    assert promises_too_early("Disputes decided by people") == ["disputes: Disput"]
    assert promises_too_early("so contracts and invoices carry its details") == []  # invoices and statements exist
    assert promises_too_early("Send them a message about the contract") == []  # conversations exist
    assert promises_too_early("Money held in escrow is released when the client approves the milestone.") == []


async def test_the_landing_page_promises_escrow_and_automatic_approval_and_nothing_that_does_not_exist(anonymous):
    page = await anonymous.get("/")
    assert page.status_code == 200
    text = visible(page.text)
    assert promises_too_early(text) == []
    assert "Fund milestones into escrow" in text and "Money held in escrow" in text
    assert "the work is approved automatically" in text and "reminders two days and one day before" in text
    assert "A signed change can refund a funded milestone whose work was not sent yet." in text
    # The fee is said before anyone signs up (PLATFORM_FEE_PERCENT, 10 by default).
    assert "Pactline takes 10% of each payment released, from the contractor’s side." in text
    # Payouts exist (/earnings): the promise is made, and with its condition.
    assert "they can withdraw what they earned to their bank account" in text


async def test_a_new_contract_gets_clauses_that_promise_only_what_exists(db, client, contractor):
    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    clauses = "\n".join(contract.draft_terms.clauses)

    assert contract.draft_terms.template.key == "fixed-price-project"
    assert promises_too_early(clauses) == []
    assert "The client funds each milestone into escrow on Pactline before work on it starts." in clauses
    assert "approved automatically" in clauses and "within 7 days" in clauses
    assert "less Pactline's fee if this contract states one" in clauses
    # What happens instead of a dispute: an amendment both sign, which can refund unsubmitted work.
    assert "removes a funded milestone whose work was not submitted refunds its money to the client" in clauses
    assert "Pactline does not decide between the parties." in clauses

    page = await client.get(f"/contracts/{contract.id}/edit")
    assert page.status_code == 200
    editor = visible(page.text)
    assert promises_too_early(editor) == []
    assert "Each milestone is funded into escrow before work on it starts." in editor
    assert "or when the review window ends without an answer" in editor
    assert "before it is approved automatically" in editor

    # The contractor reads the same clauses on the contract page before signing.
    await signing.send(db, contract.id, client.user, fee=FEE)
    await db.commit()
    page = await contractor.get(f"/contracts/{contract.id}")
    assert page.status_code == 200
    words = visible(page.text)
    assert promises_too_early(words) == [] and "Pactline does not decide between the parties." in words


@pytest.mark.parametrize("key", sorted(PLATFORM_TEMPLATES))
async def test_no_standard_clause_promises_what_does_not_exist(key):
    text = await render(PLATFORM_TEMPLATES[key], VALUES)
    assert promises_too_early(text) == []


async def test_the_retainer_clauses_do_not_promise_escrow_which_retainers_do_not_have_yet():
    text = await render(PLATFORM_TEMPLATES["monthly-retainer"], VALUES)
    assert "escrow" not in text.lower() and "The client pays €800.00 a month for these services." in text


def test_versions_sent_before_keep_their_words_and_their_hashes():
    """Drafting copies the clauses into the terms; a sent version keeps its copy under its hash. The
    golden versions still say what their parties signed, the dispute process included, and hash the
    same; only new drafts get the new words."""
    fixed = [v for v in GOLDEN if v["terms"].get("template") and v["terms"]["template"]["key"] == "fixed-price-project"]
    assert fixed
    for version in fixed:
        assert any("Pactline's dispute process" in clause for clause in version["terms"]["clauses"])
        assert terms_hash(version["terms"]) == version["terms_hash"]
    assert "dispute" not in PLATFORM_TEMPLATES["fixed-price-project"].body


def test_the_contractors_invitation_promises_escrow_and_nothing_that_does_not_exist():
    env = email_environment()
    context = {"inviter": "Ada", "company": "Acme Robotics", "message": "", "link": "https://pactline.test/i/x",
               "subject": "Invitation", "app_base_url": "https://pactline.test"}  # fmt: skip
    for suffix in ("txt", "html"):
        text = env.get_template(f"emails/invitation_contractor.{suffix}").render(context)
        words = visible(text) if suffix == "html" else text
        assert promises_too_early(words) == [], suffix
        assert "held in escrow before you start" in words and "released to you when they approve your work" in words

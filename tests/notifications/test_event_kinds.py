"""Every kind of the proposals, contracts, account and operations groups has both e-mail parts,
and they render with what notify() gives them (the data its callers pass, plus name, headline,
path, count, kind label and the unsubscribe link)."""

from __future__ import annotations

import pytest

from app.notifications.kinds import KINDS
from app.web.templating import email_environment

GROUPS = {"proposals", "contracts", "account", "operations"}

# What each kind's callers pass to notify(), as they pass it.
DATA = {
    "proposal.received": {"contractor": "Cleo Contractor", "job": "Booking website", "amount": "€1,200.00"},
    "proposal.shortlisted": {"client": "Ada Client", "job": "Booking website", "note": "", "accepted": False},
    "proposal.accepted": {"client": "Ada Client", "job": "Booking website", "note": "", "accepted": True},
    "proposal.declined": {"client": "Ada Client", "job": "Booking website", "note": "Too late.", "accepted": False},
    "job.invited": {
        "client": "Ada Client",
        "job": "Booking website",
        "inviter": "Ada Client",
        "company": "Acme",
        "message": "Come along.",
        "member": False,
    },  # fmt: skip
    "contract.sent": {
        "actor": "Ada",
        "sender": "Ada",
        "contract": "Logo",
        "sent": "sent you version 2 of",
        "number": 2,
        "first": False,
    },  # fmt: skip
    "contract.change_requested": {"actor": "Cleo", "contract": "Logo", "message": "Lower the price, please."},
    "contract.signed": {"actor": "Cleo", "contract": "Logo"},
    "contract.active": {"contract": "Logo", "client": "Ada", "contractor": "Cleo", "terms_hash": "ab" * 32},
    "contract.cancelled": {"actor": "Cleo", "contract": "Logo"},
    "amendment.proposed": {"actor": "Ada", "contract": "Logo", "reason": "More work."},
    "amendment.decided": {"actor": "Ada", "contract": "Logo", "decision": "declined"},
    "amendment.applied": {"actor": "Ada", "contract": "Logo", "result": "it is now part of the contract"},
    "company.invitation": {"inviter": "Ada", "company": "Acme", "message": "", "member": True},
    "company.invitation_accepted": {"member": "Cleo", "company": "Acme", "member_kind": "contractor"},
    "company.invitation_renewal": {"email": "cleo@example.test", "company": "Acme"},
    "company.decided": {"company": "Acme", "decision": "not verified", "verified": False, "note": "No such number."},
    "kyc.decided": {"decision": "not approved", "approved": False, "reason": "The photo is blurred."},
    "lead.dead_letter": {"lead_id": 7, "lead": "Garden shed", "error": "ValueError: no", "attempts": 3},
    "reconciliation.mismatch": {"day": "1 December 2026", "differences": "2 rows", "rows": 2, "provider": "fake"},
}

OURS = sorted(name for name, k in KINDS.items() if k.group in GROUPS)


def test_every_kind_of_these_groups_has_sample_data():
    assert sorted(DATA) == OURS


@pytest.mark.parametrize("name", OURS)
def test_the_kinds_title_subject_and_both_email_parts_read_well(name):
    kind = KINDS[name]
    data = DATA[name]
    title, subject = kind.title_for(data), kind.subject_for(data)
    # Every value the title and subject name is given: no blanks, no stray braces.
    assert "{" not in title and "  " not in title and " ." not in title and "“”" not in title
    assert "{" not in subject and subject.strip() == subject
    context = {**data, "name": "Ada", "headline": title, "path": "/somewhere/1", "count": 1,
               "kind_label": kind.label, "unsubscribe_url": "https://pactline.test/unsubscribe/tok",
               "subject": subject, "app_base_url": "https://pactline.test"}  # fmt: skip
    env = email_environment()
    for suffix in ("txt", "html"):
        text = env.get_template(f"emails/{kind.email_template}.{suffix}").render(context)
        assert "Hello Ada" in text, suffix
        assert "https://pactline.test/somewhere/1" in text, suffix
        assert "https://pactline.test/unsubscribe/tok" in text, suffix
        escape = (lambda s: s) if suffix == "txt" else (lambda s: s.replace("'", "&#39;"))
        assert escape(kind.label) in text, suffix
        assert escape(title) in text, suffix

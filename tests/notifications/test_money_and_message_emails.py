"""Every kind of the money and messages groups has its e-mail, in text and HTML, and it renders
from exactly the data its caller passes to notify() (an unknown name fails here, not silently
in someone's inbox) plus what notify's e-mail task adds: name, headline, path, count, kind
label, unsubscribe link."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import StrictUndefined

from app.accounts.models import Role, User
from app.notifications.kinds import KINDS
from app.notifications.models import Notification
from app.notifications.tasks import email_context
from app.web.templating import make_environment

EMAILS = Path(__file__).resolve().parents[2] / "templates" / "emails"
MILESTONE = {"contract": "Booking website", "milestone": "Design"}
# What each kind's caller passes (app/escrow, app/retainers, app/payouts, app/conversations).
SAMPLES: dict[str, dict] = {
    "milestone.funded": {**MILESTONE, "amount": "€1,000.00"},
    "funding.failed": {**MILESTONE, "amount": "€1,000.00", "reason": "Your card was declined."},
    "funding.refunded": {**MILESTONE, "amount": "€1,000.00"},
    "milestone.submitted": {**MILESTONE, "contractor": "Bo Builder", "review_ends": "9 March 2031, 10:00 UTC"},
    "milestone.revision": {**MILESTONE, "client": "Clara Client", "reason": "The logo is <too> small & pale."},
    "milestone.review_reminder": {**MILESTONE, "hours": 24, "review_ends": "9 March 2031, 10:00 UTC"},
    "milestone.released": {**MILESTONE, "how": "by Clara Client", "amount": "€900.00"},
    "milestone.auto_approved": {
        **MILESTONE,
        "how": "automatically, as the review window ended",
        "amount": "€1,000.00",
        "contractor": "Bo Builder",
    },
    "milestone.disputed": {**MILESTONE, "is_client": True, "amount": "€1,000.00"},
    "dispute.settled": {
        **MILESTONE,
        "is_client": False,
        "refund": "€400.00",
        "release": "€600.00",
        "amount": "€1,000.00",
    },  # fmt: skip
    "contract.completed": {
        "contract": "Booking website",
        "outcome": "is complete: every milestone is paid out or refunded.",
        "retainer": False,
    },
    "retainer.funding_due": {
        "contract": "Design retainer",
        "milestone": "March 2031",
        "amount": "€1,500.00",
        "starts": "1 March 2031",
        "started": False,
        "when": "before 1 March 2031",
    },
    "retainer.overdue": {
        "contract": "Design retainer",
        "milestone": "March 2031",
        "amount": "€1,500.00",
        "starts": "1 March 2031",
        "is_client": True,
    },
    "payout.sent": {"amount": "€600.00", "method": "Bank account ending 3000", "state": "sent"},
    "payout.paid": {"amount": "€600.00", "method": "", "state": "paid"},
    "payout.failed": {"amount": "€600.00", "method": "", "state": "failed", "reason": "The bank refused it"},
    "message.new": {"sender": "Clara Client", "about": "Booking website"},
}
OURS = sorted(k.name for k in KINDS.values() if k.group in ("money", "messages"))


def test_every_money_and_message_kind_has_a_sample_here():
    assert sorted(SAMPLES) == OURS


@pytest.mark.parametrize("name", OURS)
@pytest.mark.parametrize("count", [1, 3])
def test_each_kind_has_both_e_mails_and_they_render(settings, name, count):
    kind = KINDS[name]
    for suffix in ("txt", "html"):
        assert (EMAILS / f"{kind.email_template}.{suffix}").is_file(), f"{kind.email_template}.{suffix}"
    role = Role.client if Role.client.value in kind.roles else Role.contractor
    user = User(id=7, name="Noor O’Neil", email="noor@example.test", role=role)
    link = "/contracts/12#milestone-3"
    row = Notification(kind=name, data=SAMPLES[name], link=link, count=count)
    context = {"subject": kind.subject_for(row.data, count), "app_base_url": settings.app_base_url}
    context |= email_context(settings, user, row, kind)
    env = make_environment(autoescape_strings=False)
    env.undefined = StrictUndefined  # a name the caller does not pass fails here
    text = env.get_template(f"emails/{kind.email_template}.txt").render(context)
    html = env.get_template(f"emails/{kind.email_template}.html").render(context)
    headline = kind.title_for(row.data, count)
    for placeholder in ("{", "}"):
        assert placeholder not in headline and placeholder not in context["subject"]
    assert "  " not in headline.replace(".  ", ". ") and ": ." not in headline  # no empty value in the words
    for body in (text, html):
        assert "Noor O" in body and f"{settings.app_base_url}{link}" in body
        assert "/unsubscribe/" in body and "/settings/notifications" in body and kind.label in body
        assert "None" not in body
    assert "<" not in text.replace("<too>", "")  # the text part is text
    if name == "milestone.revision":
        assert "The logo is &lt;too&gt; small &amp; pale." in html  # the HTML part escapes what people wrote

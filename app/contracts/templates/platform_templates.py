"""The platform's own contract templates (companies can add theirs).

Drafting copies a template's filled-in text into the contract's terms, and a sent version keeps
its copy under its hash: a change here reaches new drafts and drafts saved again, never a version
already sent or signed (decisions 0013, 0033). Promise only what Pactline does today."""

from __future__ import annotations

from app.contracts.templates.templating import ContractTemplate, Placeholder

_PARTIES = (Placeholder("client_name", "Client"), Placeholder("contractor_name", "Contractor"))

FIXED_PRICE = ContractTemplate(
    key="fixed-price-project",
    title="Fixed-price project with milestones",
    kind="milestone",
    placeholders=(
        *_PARTIES,
        Placeholder("project_title", "Project"),
        Placeholder("scope", "Scope of work"),
        Placeholder("review_window_days", "Review window (days)"),
        Placeholder("total", "Total price"),
    ),
    body="""\
This agreement is between {{ client_name }} (the client) and {{ contractor_name }} (the contractor) for the project "{{ project_title }}".

1. Work. The contractor will deliver: {{ scope }}
2. Milestones and payment. The total price is {{ total }}, split into the milestones listed in this contract. The client funds each milestone into escrow on Pactline before work on it starts. Its money is released to the contractor, less Pactline's fee if this contract states one, when the client approves the milestone or when it is approved automatically (clause 3).
3. Review. The client reviews submitted work within {{ review_window_days }} days. Work that is neither approved nor sent back for revision in that time is approved automatically.
4. Revisions. The client may ask for revisions that bring the work in line with a milestone's acceptance criteria. New requirements are an amendment, signed by both.
5. Ownership. The client owns the copyright in the delivered work of each milestone once that milestone is paid. The contractor may show the work in a portfolio unless the client objects in writing.
6. Termination. Either party may end this contract with 14 days' notice. On Pactline the contract ends when both parties sign the amendment that ends it; for each milestone whose money is still held in escrow, that amendment says how much is refunded to the client and how much is released to the contractor. Paid milestones stay with the client.
7. Liability. Each party's liability under this contract is limited to its total price.
8. Disagreements. The parties settle a disagreement about a milestone by an amendment that both sign; for example, an amendment that removes a funded milestone whose work was not submitted refunds its money to the client. Pactline does not decide between the parties. Until both sign, the milestone's money stays in escrow, unless the client approves the work or it is approved automatically when its review window ends (clause 3).
""",
)

RETAINER = ContractTemplate(
    key="monthly-retainer",
    title="Monthly retainer",
    kind="retainer",
    placeholders=(
        *_PARTIES,
        Placeholder("services", "Services"),
        Placeholder("amount_per_period", "Amount per month"),
        Placeholder("start_date", "Start date"),
        Placeholder("hours_per_month", "Hours included per month"),
    ),
    body="""\
This agreement is between {{ client_name }} (the client) and {{ contractor_name }} (the contractor).

1. Services. From {{ start_date }}, the contractor provides: {{ services }}, up to {{ hours_per_month }} hours a month.
2. Payment. The client pays {{ amount_per_period }} a month for these services.
3. Ownership. The client owns the copyright in work delivered and paid for under this agreement.
4. Termination. Either party may end the retainer at the end of any month with 30 days' notice.
5. Liability. Each party's liability is limited to three months of fees.
""",
)

CONFIDENTIALITY = ContractTemplate(
    key="confidentiality-rider",
    title="Confidentiality rider",
    kind="rider",
    placeholders=(*_PARTIES, Placeholder("confidential_years", "Years confidentiality lasts")),
    body="""\
Confidentiality. {{ contractor_name }} keeps confidential all non-public information that {{ client_name }} shares for this work, uses it only for this contract, and returns or deletes it when the work ends. This obligation lasts {{ confidential_years }} years after the contract ends and does not cover information that is public or was already known to the contractor.
""",
)

PLATFORM_TEMPLATES = {t.key: t for t in (FIXED_PRICE, RETAINER, CONFIDENTIALITY)}

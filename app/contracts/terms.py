"""A contract's terms, typed: what both parties sign, and what escrow reads on every money move.

`Terms.from_json(stored)` reads terms as stored (in `contracts.draft_terms` and
`contract_versions.terms`); `to_json()` gives them back, and `canonical()` is the bytes a version's
hash is taken of (app/contracts/versions.py). Signatures bind to that hash, so the round trip is
exact: `Terms.from_json(d).to_json() == d` for every terms dict the code has ever stored. Two
things keep it exact for older terms:

- `absent`: keys an older draft did not have (drafts made before the editor first saved them
  have no "riders" or "custom_clauses"; older ones no "kind"). They stay out of the JSON.
- `extra`: keys this type does not know. They are kept as they were, and the diff shows them.

Optional parts that later features add (`termination` from an amendment that ends the contract,
`platform_fee` from escrow) are left out of the JSON when they are None, so terms without them
hash exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from app.contracts.versions import canonical_terms
from app.money import Money, format_minor

if TYPE_CHECKING:
    from app.config import Settings

DEFAULT_REVIEW_WINDOW = 7
DEFAULT_CURRENCY = "EUR"


class ContractKind(StrEnum):
    milestone = "milestone"
    retainer = "retainer"


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _kept(data: Mapping[str, Any], known: Iterable[str]) -> tuple[frozenset[str], dict[str, Any]]:
    """The known keys `data` lacks, and the keys it has that are not known."""
    known = frozenset(known)
    return known - data.keys(), {k: v for k, v in data.items() if k not in known}


def _json(fields: dict[str, Any], absent: frozenset[str], extra: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in absent} | dict(extra)


@dataclass(frozen=True)
class MilestoneTerms:
    title: str
    amount_minor: int
    acceptance_criteria: str = ""
    due_date: date | None = None
    # Hand-written or older terms may name a currency per milestone (the review flags a mismatch).
    currency: str | None = None
    absent: frozenset[str] = frozenset()
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    KEYS = ("title", "acceptance_criteria", "amount_minor", "due_date")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        absent, extra = _kept(data, (*cls.KEYS, "currency"))
        return cls(
            title=data.get("title") or "",
            amount_minor=data.get("amount_minor") or 0,
            acceptance_criteria=data.get("acceptance_criteria") or "",
            due_date=_day(data.get("due_date")),
            currency=data.get("currency"),
            absent=absent - {"currency"},
            extra=extra,
        )

    def to_json(self) -> dict[str, Any]:
        fields = {
            "title": self.title,
            "acceptance_criteria": self.acceptance_criteria,
            "amount_minor": self.amount_minor,
            "due_date": _iso(self.due_date),
        }
        if self.currency is not None:
            fields["currency"] = self.currency
        return _json(fields, self.absent, self.extra)


@dataclass(frozen=True)
class Retainer:
    amount_minor: int | None
    period: str = "month"  # "month" | "week"
    start_date: date | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(data.get("amount_minor"), data.get("period") or "month", _day(data.get("start_date")))

    def to_json(self) -> dict[str, Any]:
        return {"amount_minor": self.amount_minor, "period": self.period, "start_date": _iso(self.start_date)}


@dataclass(frozen=True)
class TemplateRef:
    """The template (or rider) the clauses were filled in from, with the values typed by hand."""

    key: str
    values: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(str(data.get("key") or ""), dict(data.get("values") or {}))

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "values": dict(self.values)}


@dataclass(frozen=True)
class HeldSplitTerms:
    """One milestone's money held in escrow when the contract ends, as both sign it: `refund_minor`
    back to the client, `release_minor` to the contractor (the signed fee applies to it)."""

    milestone: str
    held_minor: int
    refund_minor: int
    release_minor: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(str(data.get("milestone") or ""), int(data.get("held_minor") or 0),
                   int(data.get("refund_minor") or 0), int(data.get("release_minor") or 0))  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"milestone": self.milestone, "held_minor": self.held_minor, "refund_minor": self.refund_minor,
                "release_minor": self.release_minor}  # fmt: skip

    def words(self, currency: str, fee: PlatformFee | None = None) -> str:
        """ "“Build” (€2,000.00 held): €500.00 back to the client; €1,500.00 released to the
        contractor, who receives €1,350.00 after the Pactline fee." """

        def amount(minor: int) -> str:
            return format_minor(minor, currency)

        back = f"{amount(self.refund_minor)} back to the client" if self.refund_minor else "nothing back to the client"
        if not self.release_minor:
            out = "nothing released to the contractor"
        else:
            out = f"{amount(self.release_minor)} released to the contractor"
            if fee is not None and fee.fee_minor(self.release_minor):
                out += f", who receives {amount(fee.share_minor(self.release_minor))} after the Pactline fee"
        return f"“{self.milestone}” ({amount(self.held_minor)} held): {back}; {out}."


@dataclass(frozen=True)
class Termination:
    """Written into the terms by a signed amendment that ends the contract early. `splits` (one
    per milestone holding money) is left out of the JSON when empty, so terms that end with
    nothing held hash exactly as before escrow existed."""

    settlement_note: str
    escrow_held_minor: int = 0
    splits: tuple[HeldSplitTerms, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        splits = tuple(HeldSplitTerms.from_json(s) for s in data.get("splits") or ())
        return cls(data.get("settlement_note") or "", data.get("escrow_held_minor") or 0, splits)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"settlement_note": self.settlement_note, "escrow_held_minor": self.escrow_held_minor}
        if self.splits:
            data["splits"] = [s.to_json() for s in self.splits]
        return data


@dataclass(frozen=True)
class PlatformFee:
    """Pactline's fee, as signed: `rate_bp` basis points (1000 = 10 %) of each payment released,
    taken from the contractor's side; the client pays exactly the milestone amounts. Written into
    the terms when a version is sent (signing.send) and kept by amendments (decision 0030).

    The math is integer only, rounded half up to the minor unit per release, so that
    `fee_on(a) + contractor_share(a) == a` for every amount."""

    rate_bp: int
    paid_by: str = "contractor"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(int(data.get("rate_bp") or 0), str(data.get("paid_by") or "contractor"))

    @classmethod
    def current(cls, settings: Settings) -> PlatformFee:
        """The fee a version sent now carries: PLATFORM_FEE_PERCENT."""
        return cls(settings.platform_fee_bp)

    def to_json(self) -> dict[str, Any]:
        return {"rate_bp": self.rate_bp, "paid_by": self.paid_by}

    def fee_minor(self, amount_minor: int) -> int:
        if amount_minor < 0:
            raise ValueError("a platform fee is taken on a released amount, never a negative one")
        return (amount_minor * self.rate_bp + 5000) // 10000

    def share_minor(self, amount_minor: int) -> int:
        """What the contractor receives of a release of `amount_minor`."""
        return amount_minor - self.fee_minor(amount_minor)

    def fee_on(self, amount: Money) -> Money:
        return Money(self.fee_minor(amount.amount_minor), amount.currency)

    def contractor_share(self, amount: Money) -> Money:
        return Money(self.share_minor(amount.amount_minor), amount.currency)

    @property
    def percent_text(self) -> str:
        """'10%', '7.5%', '2.25%'."""
        whole, rest = divmod(self.rate_bp, 100)
        return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"

    def words(self, kind: ContractKind | str = ContractKind.milestone) -> str:
        """The plain sentence both parties read before signing (page, PDF and diff)."""
        amounts = "retainer payments" if str(kind) == ContractKind.retainer else "milestone amounts"
        if not self.rate_bp:
            return f"No Pactline fee: the contractor receives the full {amounts}."
        return (
            f"Pactline fee: {self.percent_text} of each payment released, taken from the contractor’s side. "
            f"The client pays exactly the {amounts}."
        )


@dataclass(frozen=True)
class Terms:
    title: str = ""
    scope: str = ""
    kind: ContractKind = ContractKind.milestone
    currency: str = DEFAULT_CURRENCY
    review_window_days: int = DEFAULT_REVIEW_WINDOW
    stated_total_minor: int | None = None
    milestones: tuple[MilestoneTerms, ...] = ()
    retainer: Retainer | None = None
    template: TemplateRef | None = None
    riders: tuple[TemplateRef, ...] = ()
    custom_clauses: tuple[str, ...] = ()
    # The full contract text: the template's and riders' filled-in clauses, then the custom ones.
    clauses: tuple[str, ...] = ()
    termination: Termination | None = None
    platform_fee: PlatformFee | None = None
    absent: frozenset[str] = frozenset()
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    KEYS = ("title", "scope", "kind", "currency", "review_window_days", "stated_total_minor", "milestones",
            "retainer", "template", "riders", "custom_clauses", "clauses")  # fmt: skip
    OPTIONAL = ("termination", "platform_fee")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        absent, extra = _kept(data, (*cls.KEYS, *cls.OPTIONAL))
        retainer = data.get("retainer")
        template = data.get("template")
        termination = data.get("termination")
        fee = data.get("platform_fee")
        return cls(
            title=data.get("title") or "",
            scope=data.get("scope") or "",
            # Older drafts have no "kind": a retainer schedule means a retainer, anything else milestones.
            kind=ContractKind(data.get("kind") or ("retainer" if retainer else "milestone")),
            currency=data.get("currency") or DEFAULT_CURRENCY,
            review_window_days=data.get("review_window_days") or DEFAULT_REVIEW_WINDOW,
            stated_total_minor=data.get("stated_total_minor"),
            milestones=tuple(MilestoneTerms.from_json(m) for m in data.get("milestones") or []),
            retainer=Retainer.from_json(retainer) if retainer else None,
            template=TemplateRef.from_json(template) if template else None,
            riders=tuple(TemplateRef.from_json(r) for r in data.get("riders") or []),
            custom_clauses=tuple(data.get("custom_clauses") or ()),
            clauses=tuple(data.get("clauses") or ()),
            termination=Termination.from_json(termination) if termination else None,
            platform_fee=PlatformFee.from_json(fee) if fee else None,
            absent=absent - set(cls.OPTIONAL),
            extra=extra,
        )

    def to_json(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "title": self.title,
            "scope": self.scope,
            "kind": self.kind.value,
            "currency": self.currency,
            "review_window_days": self.review_window_days,
            "stated_total_minor": self.stated_total_minor,
            "milestones": [m.to_json() for m in self.milestones],
            "retainer": self.retainer.to_json() if self.retainer else None,
            "template": self.template.to_json() if self.template else None,
            "riders": [r.to_json() for r in self.riders],
            "custom_clauses": list(self.custom_clauses),
            "clauses": list(self.clauses),
        }
        if self.termination is not None:
            fields["termination"] = self.termination.to_json()
        if self.platform_fee is not None:
            fields["platform_fee"] = self.platform_fee.to_json()
        return _json(fields, self.absent, self.extra)

    def canonical(self) -> bytes:
        """The bytes a version's hash is taken of."""
        return canonical_terms(self.to_json())

    def with_(self, **changes: Any) -> Terms:
        """A copy with `changes`; a key an older draft lacked counts as present once it is set."""
        return replace(self, **changes, absent=self.absent - changes.keys())

    @property
    def milestone_total(self) -> int:
        return sum(m.amount_minor for m in self.milestones)

    @property
    def release_fee(self) -> PlatformFee:
        """The fee escrow takes at each release: the signed one, or none for terms signed before
        fees were part of the terms (decision 0030). Never read from the settings."""
        return self.platform_fee or PlatformFee(0)

    @property
    def is_retainer(self) -> bool:
        return self.kind == ContractKind.retainer

    @property
    def display_title(self) -> str:
        return self.title or "Untitled contract"


class TermsColumn(TypeDecorator[Terms]):
    """JSONB in the database, `Terms` in Python: terms are parsed where they are read."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(self, value: Terms | Mapping[str, Any] | None, dialect: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return value.to_json() if isinstance(value, Terms) else Terms.from_json(value).to_json()

    def process_result_value(self, value: Any, dialect: Any) -> Terms | None:
        return None if value is None else Terms.from_json(value)

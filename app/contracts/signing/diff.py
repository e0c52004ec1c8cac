"""What changed between two versions of a contract's terms, in words people read.

Everything here is a pure function of two `Terms`, except changes_context(), the one
database read: the contract page's "what changed since the previous version" box.

Milestones and clauses are matched by position when both versions have the same number of
them (so a renamed milestone is "Milestone 2 · title", not a removal plus an addition). When
the counts differ, they are aligned with difflib on their titles (clauses: their text): items
that line up are compared field by field, the rest are "added" or "removed". A block where
titles were both removed and inserted is paired by position for as many as both sides have.

Long text (scope, acceptance criteria, clauses) also carries a line-level diff, refined to
words inside changed lines, as plain-text segments: templates wrap them in <ins>/<del> and
autoescape the text, so nothing a party typed is ever marked safe here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from app.contracts.terms import MilestoneTerms, PlatformFee, Retainer, Terms
from app.money import format_minor

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.contracts.models import Contract

ABSENT = "—"
Kind = Literal["added", "removed", "changed"]
Mark = Literal["", "ins", "del"]

# Word-level refinement is quadratic in the worst case; past this many tokens a changed
# block is shown as whole deleted and inserted lines instead.
MAX_WORD_TOKENS = 4000


@dataclass(frozen=True)
class Segment:
    text: str
    mark: Mark = ""  # "" unchanged, "del" only in the old text, "ins" only in the new text


@dataclass(frozen=True)
class Change:
    label: str  # "Milestone 2 · amount"
    old: str  # formatted for people, ABSENT when there was nothing
    new: str
    kind: Kind
    phrase: str  # how summary() names it: "amount of Design"
    # Long text only: the old text with its deleted parts marked, the new one with its insertions.
    old_segments: tuple[Segment, ...] = field(default=())
    new_segments: tuple[Segment, ...] = field(default=())

    @property
    def is_text(self) -> bool:
        return bool(self.old_segments or self.new_segments)


# ---------------------------------------------------------------- formatting for people


def money_text(amount_minor: Any, currency: str | None) -> str:
    """'€1,000.00'; an unknown currency keeps its code: '1,000.00 CHF'."""
    if amount_minor is None or isinstance(amount_minor, bool):
        return ABSENT
    try:
        minor = int(amount_minor)
    except (TypeError, ValueError):
        return str(amount_minor)
    return format_minor(minor, (currency or "").upper())


def date_text(value: Any) -> str:
    """'2030-02-01' → '1 Feb 2030'."""
    if not value:
        return ABSENT
    if isinstance(value, date):
        return value.strftime("%-d %b %Y")
    try:
        return date.fromisoformat(str(value)).strftime("%-d %b %Y")
    except ValueError:
        return str(value)


def days_text(value: Any) -> str:
    if value is None or value == "":
        return ABSENT
    return "1 day" if str(value) == "1" else f"{value} days"


KIND_NAMES = {"milestone": "Paid by milestone", "retainer": "Retainer (regular payments)"}
PERIOD_NAMES = {"month": "Every month", "week": "Every week"}


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if text.strip() else ABSENT


def milestone_text(m: MilestoneTerms, currency: str | None) -> str:
    """One line for an added or removed milestone: 'Testing · €500.00 · due 1 Mar 2030'."""
    parts = [_text(m.title), money_text(m.amount_minor, currency)]
    if m.due_date:
        parts.append(f"due {date_text(m.due_date)}")
    return " · ".join(parts)


def _period(r: Retainer) -> str:
    return PERIOD_NAMES.get(r.period, _text(r.period))


def retainer_text(r: Retainer, currency: str | None) -> str:
    parts = [money_text(r.amount_minor, currency), _period(r)]
    if r.start_date:
        parts.append(f"from {date_text(r.start_date)}")
    return " · ".join(parts)


# ---------------------------------------------------------------- text diffs

_TOKENS = re.compile(r"\s+|[^\s]+")


def _merge(segments: Iterator[Segment]) -> tuple[Segment, ...]:
    merged: list[Segment] = []
    for s in segments:
        if not s.text:
            continue
        if merged and merged[-1].mark == s.mark:
            merged[-1] = Segment(merged[-1].text + s.text, s.mark)
        else:
            merged.append(s)
    return tuple(merged)


def _aligned(a: list[str], b: list[str], refine=None) -> tuple[list[Segment], list[Segment]]:
    """difflib over two token lists: equal runs stay plain, others become del/ins (a replaced run
    is handed to `refine` when given). Empty segments are dropped later by _merge."""
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            left.append(Segment(old))
            right.append(Segment(new))
        elif op == "replace" and refine is not None:
            refined_left, refined_right = refine(old, new)
            left += refined_left
            right += refined_right
        else:
            left.append(Segment(old, "del"))
            right.append(Segment(new, "ins"))
    return left, right


def _words(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    if len(a) + len(b) > MAX_WORD_TOKENS:
        return [Segment(old, "del")], [Segment(new, "ins")]
    return _aligned(a, b)


def text_diff(old: str | None, new: str | None) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Line-level diff (difflib), refined to words inside lines that were replaced. Returns the
    old text as segments (unchanged or "del") and the new text (unchanged or "ins")."""
    a = (old or "").replace("\r\n", "\n").splitlines(keepends=True)
    b = (new or "").replace("\r\n", "\n").splitlines(keepends=True)
    left, right = _aligned(a, b, refine=_words)
    return _merge(iter(left)), _merge(iter(right))


# ---------------------------------------------------------------- matching lists


def align(old: Sequence[Any], new: Sequence[Any], key: Callable[[Any], str]) -> list[tuple[int | None, int | None]]:
    """Pairs (old index, new index); None on one side means added or removed. Same length:
    by position. Otherwise difflib on the keys, pairing replaced blocks by position."""
    if len(old) == len(new):
        return [(i, i) for i in range(len(old))]
    pairs: list[tuple[int | None, int | None]] = []
    matcher = difflib.SequenceMatcher(None, [key(x) for x in old], [key(x) for x in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pairs += list(zip(range(i1, i2), range(j1, j2), strict=True))
            continue
        both = min(i2 - i1, j2 - j1) if op == "replace" else 0
        pairs += [(i1 + k, j1 + k) for k in range(both)]
        pairs += [(i, None) for i in range(i1 + both, i2)]
        pairs += [(None, j) for j in range(j1 + both, j2)]
    return pairs


def _title_key(m: MilestoneTerms) -> str:
    return " ".join(m.title.split()).casefold()


def _clause_key(c: Any) -> str:
    return " ".join(str(c or "").split()).casefold()


# ---------------------------------------------------------------- the diff


def _field(label: str, phrase: str, old: str, new: str) -> Change | None:
    if old == new:
        return None
    kind: Kind = "added" if old == ABSENT else "removed" if new == ABSENT else "changed"
    return Change(label, old, new, kind, phrase)


def _long_text(label: str, phrase: str, old: Any, new: Any) -> Change | None:
    a, b = ("" if old is None else str(old)), ("" if new is None else str(new))
    if a == b:
        return None
    old_segments, new_segments = text_diff(a, b)
    kind: Kind = "added" if not a.strip() else "removed" if not b.strip() else "changed"
    return Change(label, _text(a), _text(b), kind, phrase, old_segments, new_segments)


def _milestones(old: Terms, new: Terms) -> list[Change]:
    old_ms, new_ms = old.milestones, new.milestones
    old_cur, new_cur = old.currency, new.currency
    changes: list[Change] = []
    for i, j in align(old_ms, new_ms, _title_key):
        if j is None:
            assert i is not None
            m = old_ms[i]
            title = _text(m.title)
            changes.append(
                Change(
                    f"Milestone {i + 1} removed",
                    milestone_text(m, old_cur),
                    ABSENT,
                    "removed",
                    f"removed milestone {title}",
                )
            )
            continue
        if i is None:
            m = new_ms[j]
            title = _text(m.title)
            changes.append(
                Change(
                    f"Milestone {j + 1} added", ABSENT, milestone_text(m, new_cur), "added", f"new milestone {title}"
                )
            )
            continue
        a, b = old_ms[i], new_ms[j]
        name = f"Milestone {j + 1}"
        title = _text(b.title)
        found = [
            _field(f"{name} · title", f"title of milestone {j + 1}", _text(a.title), title),
            _field(f"{name} · amount", f"amount of {title}", money_text(a.amount_minor, old_cur),
                   money_text(b.amount_minor, new_cur)),
            _field(f"{name} · due date", f"due date of {title}", date_text(a.due_date), date_text(b.due_date)),
            _long_text(f"{name} · acceptance criteria", f"acceptance criteria of {title}",
                       a.acceptance_criteria, b.acceptance_criteria),
        ]  # fmt: skip
        changes += [c for c in found if c is not None]
    return changes


def _retainer(old: Terms, new: Terms) -> list[Change]:
    a, b = old.retainer, new.retainer
    if a is None and b is None:
        return []
    if a is None or b is None:
        text_a = retainer_text(a, old.currency) if a else ABSENT
        text_b = retainer_text(b, new.currency) if b else ABSENT
        return [c for c in [_field("Retainer", "retainer", text_a, text_b)] if c]
    found = [
        _field("Retainer · amount", "retainer amount", money_text(a.amount_minor, old.currency),
               money_text(b.amount_minor, new.currency)),
        _field("Retainer · how often", "retainer period", _period(a), _period(b)),
        _field("Retainer · start date", "retainer start date", date_text(a.start_date), date_text(b.start_date)),
    ]  # fmt: skip
    return [c for c in found if c is not None]


def _clauses(old: Terms, new: Terms) -> list[Change]:
    a, b = list(old.clauses), list(new.clauses)
    changes: list[Change] = []
    for i, j in align(a, b, _clause_key):
        if j is None:
            assert i is not None
            old_segments, _ = text_diff(a[i], "")
            changes.append(Change(f"Clause {i + 1} removed", _text(a[i]), ABSENT, "removed", f"removed clause {i + 1}",
                                  old_segments, ()))  # fmt: skip
        elif i is None:
            _, new_segments = text_diff("", b[j])
            changes.append(Change(f"Clause {j + 1} added", ABSENT, _text(b[j]), "added", f"new clause {j + 1}",
                                  (), new_segments))  # fmt: skip
        else:
            change = _long_text(f"Clause {j + 1}", f"clause {j + 1}", a[i], b[j])
            if change is not None:
                changes.append(change)
    return changes


def _template(old: Terms, new: Terms) -> list[Change]:
    a, b = old.template, new.template
    changes = [_field("Template", "template", _text(a.key if a else None), _text(b.key if b else None))]
    values_a, values_b = (a.values if a else {}), (b.values if b else {})
    for name in sorted(set(values_a) | set(values_b)):
        label = str(name).replace("_", " ")
        changes.append(_field(f"Template · {label}", label, _text(values_a.get(name)), _text(values_b.get(name))))
    return [c for c in changes if c is not None]


KNOWN_KEYS = {"title", "scope", "kind", "currency", "review_window_days", "stated_total_minor", "milestones",
              "retainer", "template", "clauses", "platform_fee", "termination"}  # fmt: skip


def _termination(old: Terms, new: Terms) -> list[Change]:
    """An ending agreed by amendment: its settlement, the money held and each milestone's split."""
    a, b = old.termination, new.termination
    if a is None and b is None:
        return []
    fee_a, fee_b = old.release_fee, new.release_fee
    # A retainer has no end date to end before: its ending is just "Ended".
    ended = "Ended" if new.is_retainer else "Ended early"
    changes = [
        _long_text(f"{ended} · settlement", "settlement", a.settlement_note if a else None,
                   b.settlement_note if b else None),
        _field(f"{ended} · money held in escrow", "money held in escrow",
               money_text(a.escrow_held_minor, old.currency) if a else ABSENT,
               money_text(b.escrow_held_minor, new.currency) if b else ABSENT),
    ]  # fmt: skip
    splits_a = {s.milestone: s.words(old.currency, fee_a) for s in (a.splits if a else ())}
    splits_b = {s.milestone: s.words(new.currency, fee_b) for s in (b.splits if b else ())}
    for title in [*splits_a, *(t for t in splits_b if t not in splits_a)]:
        changes.append(_field(f"{ended} · money of “{title}”", f"split of {title}",
                              splits_a.get(title, ABSENT), splits_b.get(title, ABSENT)))  # fmt: skip
    return [c for c in changes if c is not None]


def fee_text(fee: PlatformFee | None) -> str:
    """'10% of each payment released, from the contractor’s side'; a version without a fee: '—'."""
    if fee is None:
        return ABSENT
    if not fee.rate_bp:
        return "None"
    return f"{fee.percent_text} of each payment released, from the contractor’s side"


def diff_terms(old: Terms, new: Terms) -> list[Change]:
    """Every difference between two versions' terms, in reading order of the contract."""
    changes = [
        _field("Title", "title", _text(old.title), _text(new.title)),
        _field("Contract type", "contract type", KIND_NAMES[old.kind], KIND_NAMES[new.kind]),
        _field("Currency", "currency", _text(old.currency), _text(new.currency)),
        _field("Review window", "review window", days_text(old.review_window_days),
               days_text(new.review_window_days)),
        _field("Stated total", "stated total", money_text(old.stated_total_minor, old.currency),
               money_text(new.stated_total_minor, new.currency)),
        _field("Pactline fee", "Pactline fee", fee_text(old.platform_fee), fee_text(new.platform_fee)),
        _long_text("Scope", "scope", old.scope, new.scope),
    ]  # fmt: skip
    result = [c for c in changes if c is not None]
    result += _milestones(old, new)
    result += _retainer(old, new)
    result += _clauses(old, new)
    result += _template(old, new)
    result += _termination(old, new)
    # The rest of the hashed JSON (riders, an ending, keys a later editor adds) as stored, so no
    # difference in the hashed terms goes unseen.
    stored_old, stored_new = old.to_json(), new.to_json()
    for key in sorted((set(stored_old) | set(stored_new)) - KNOWN_KEYS):
        label = str(key).replace("_", " ").capitalize()
        change = _field(label, label.lower(), _text(stored_old.get(key)), _text(stored_new.get(key)))
        if change is not None:
            result.append(change)
    return result


def summary(changes: Sequence[Change]) -> str:
    """'3 changes: amount of Design, new milestone Testing, review window'."""
    if not changes:
        return "No changes"
    count = len(changes)
    return f"{count} change{'' if count == 1 else 's'}: " + ", ".join(c.phrase for c in changes)


async def changes_context(db: AsyncSession, contract: Contract) -> dict[str, Any]:
    """For templates/contracts/_changes.html: the current version against the one before it.
    {"changes": [Change…], "summary", "from_number", "to_number"}; no changes and from_number
    None when there is only one version (or none)."""
    from sqlalchemy import select

    from app.contracts.models import ContractVersion

    context: dict[str, Any] = {"changes": [], "summary": "", "from_number": None, "to_number": None}
    current = await db.get(ContractVersion, contract.current_version_id) if contract.current_version_id else None
    if current is None:
        return context
    context["to_number"] = current.number
    previous = await db.scalar(
        select(ContractVersion).where(
            ContractVersion.contract_id == contract.id, ContractVersion.number == current.number - 1
        )
    )
    if previous is None:
        return context
    changes = diff_terms(previous.terms, current.terms)
    return context | {"changes": changes, "summary": summary(changes), "from_number": previous.number}

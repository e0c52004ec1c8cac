"""A contract's statement as CSV (decision 0041).

- UTF-8 with a byte order mark: Excel reads a CSV without one in the computer's legacy code page
  (€ and "Zoë" come out as mojibake); with it, Excel and LibreOffice both read UTF-8.
- Comma-separated, every text cell quoted when needed by the csv module, CRLF line ends.
- A milestone's title has its own column, exactly as typed, for filtering.
- Formula injection: a text cell that starts with =, +, -, @, a tab or a carriage return would be
  run as a formula by a spreadsheet; such a cell gets a leading apostrophe (OWASP's advice), so it
  shows as the text it is. Amounts in minor units are written as plain integers (numbers, which
  a spreadsheet may add up); formatted amounts use a true minus sign (U+2212), never "-"."""

from __future__ import annotations

import csv
import io
from datetime import UTC

from app.money import format_minor
from app.statements.queries import Statement

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = [
    "Date (UTC)",
    "Description",
    "Milestone",
    "Amount (minor units)",
    "Amount",
    "Currency",
    "Held in escrow after (minor units)",
    "Held in escrow after",
]


def neutralized(cell: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def formatted(amount_minor: int, currency: str) -> str:
    """€1,000.00 and −€900.00: a true minus sign, so the cell reads as text, never as a formula."""
    text = format_minor(abs(amount_minor), currency)
    return "\u2212" + text if amount_minor < 0 else text


def statement_csv(statement: Statement) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in statement.lines:
        writer.writerow(
            [
                line.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                neutralized(line.description),
                neutralized(line.milestone),
                line.amount_minor,
                neutralized(formatted(line.amount_minor, line.currency)),
                line.currency,
                line.balance_minor,
                neutralized(formatted(line.balance_minor, line.currency)),
            ]
        )
    return (BOM + out.getvalue()).encode("utf-8")

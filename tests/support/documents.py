"""Reading the receipts-and-invoices table (templates/invoices/_list.html) the way a person reads
it: one (number, document, amount, download link) per row."""

from __future__ import annotations

import re

TABLE = re.compile(r"<table[^>]*data-documents[^>]*>(.*?)</table>", re.S)
ROW = re.compile(r"<tr>\s*<td data-label=\"Number\"(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


def listed_documents(html: str) -> list[tuple[str, str, str, str]]:
    """Every listed document on the page, in order (several tables are read one after another)."""
    found = []
    for table in TABLE.findall(html):
        for row in ROW.findall(table):
            cells = CELL.findall("<td" + row)
            number, title, _issued, amount, download = (TAG.sub("", c).strip() for c in cells)
            href = re.search(r'href="([^"]+)"', cells[4]).group(1)
            found.append((number, title, amount, href))
            assert download.startswith("Download PDF")
    return found

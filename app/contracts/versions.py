"""A contract version's identity: SHA-256 of the canonical JSON of its terms (sorted keys, no
whitespace, UTF-8, amounts as integer minor units). A signature binds to this hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.contracts.terms import Terms


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError("amounts in contract terms are integer minor units, never floats")
    if isinstance(value, datetime):
        raise TypeError("contract terms hold dates, not timestamps")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical_terms(terms: Terms | Mapping[str, Any]) -> bytes:
    """Typed terms or terms as stored (the same bytes for both)."""
    data = terms if isinstance(terms, Mapping) else terms.to_json()
    return json.dumps(_plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def terms_hash(terms: Terms | Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_terms(terms)).hexdigest()

"""The review assistant's optional second opinion over HTTP (for example a service wrapping a
language model). Off unless CONTRACT_REVIEW_URL is set.

Protocol: POST the draft as `{"terms": {...}}` (JSON, `Authorization: Bearer <token>` when a
token is configured); the answer is `{"findings": [{"rule", "severity", "message",
"suggestion", "weight"}]}`. Whatever goes wrong there, the built-in rules still stand: a
failing or slow reviewer adds nothing rather than blocking the draft."""

from __future__ import annotations

import logging

import httpx

from app.contracts.review.rules import Finding
from app.contracts.terms import Terms

log = logging.getLogger(__name__)
SEVERITIES = {"high", "medium", "low"}
MAX_WEIGHT = 25


class HttpReviewAdapter:
    def __init__(self, url: str, token: str = "", timeout: float = 20.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    async def findings(self, terms: Terms) -> list[Finding]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(self.url, json={"terms": terms.to_json()}, headers=headers)
                response.raise_for_status()
                items = response.json().get("findings") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("contract reviewer unavailable: %s", exc)
            return []
        found = []
        for item in items[:10]:
            try:
                severity = str(item["severity"]) if item.get("severity") in SEVERITIES else "low"
                weight = max(0, min(int(item.get("weight") or 5), MAX_WEIGHT))
                found.append(
                    Finding(f"external:{item['rule']}"[:80], severity, str(item["message"])[:500],
                            str(item.get("suggestion") or "")[:500], weight)
                )  # fmt: skip
            except (KeyError, TypeError, ValueError):
                continue
        return found


def adapter_for(settings) -> HttpReviewAdapter | None:
    url = getattr(settings, "contract_review_url", "")
    return HttpReviewAdapter(url, getattr(settings, "contract_review_token", "")) if url else None

"""The review assistant's optional second opinion over HTTP, against a local reviewer service:
its findings are added to the rules', and a reviewer that fails adds nothing and blocks nothing."""

import copy

import pytest
from litestar import Litestar, Request, Response, post

from app.config import load_settings
from app.contracts.review.adapter import HttpReviewAdapter, adapter_for
from app.contracts.review.rules import review_with
from app.contracts.terms import Terms
from tests.support.threaded import ThreadedServer

TERMS = {
    "title": "Booking website",
    "scope": "Five pages with booking. The client owns the copyright once paid. Either party may terminate with notice.",
    "currency": "EUR",
    "review_window_days": 7,
    "stated_total_minor": 300000,
    "milestones": [
        {"title": "Design", "acceptance_criteria": "Three page designs approved in writing", "amount_minor": 100000, "due_date": "2030-02-01"},
        {"title": "Build", "acceptance_criteria": "Site live on the domain and bookings work", "amount_minor": 200000, "due_date": "2030-03-01"},
    ],
    "clauses": [],
}  # fmt: skip


class Reviewer:
    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.status = 200
        self.server = ThreadedServer(self._app(), "fake-reviewer")

    def _app(self) -> Litestar:
        @post("/review")
        async def review(request: Request) -> Response:
            self.seen.append({"auth": request.headers.get("authorization"), "body": await request.json()})
            if self.status != 200:
                return Response({"error": "overloaded"}, status_code=self.status)
            findings = [
                {"rule": "one_sided", "severity": "medium", "message": "The scope puts every obligation on the contractor.",
                 "suggestion": "Say what the client provides and by when.", "weight": 90},
                {"rule": "broken"},  # missing fields: ignored
            ]  # fmt: skip
            return Response({"findings": findings})

        return Litestar([review])


@pytest.fixture(scope="module")
def reviewer():
    service = Reviewer()
    service.server.start()
    yield service
    service.server.stop()


def test_the_adapter_is_off_unless_configured():
    assert adapter_for(load_settings({})) is None
    adapter = adapter_for(load_settings({"CONTRACT_REVIEW_URL": "http://127.0.0.1:9/review"}))
    assert isinstance(adapter, HttpReviewAdapter)


async def test_the_reviewer_adds_its_findings_with_a_capped_weight(reviewer):
    reviewer.status = 200
    adapter = HttpReviewAdapter(reviewer.server.url + "/review", token="s3cret")
    result = await review_with(Terms.from_json(copy.deepcopy(TERMS)), adapter)
    assert [f.rule for f in result.findings] == ["external:one_sided"]
    assert result.findings[0].weight == 25 and result.risk_score == 25
    assert reviewer.seen[-1]["auth"] == "Bearer s3cret"
    assert reviewer.seen[-1]["body"]["terms"]["title"] == "Booking website"


async def test_a_failing_reviewer_leaves_the_rules_standing(reviewer):
    reviewer.status = 503
    terms = copy.deepcopy(TERMS)
    terms["review_window_days"] = 3
    result = await review_with(Terms.from_json(terms), HttpReviewAdapter(reviewer.server.url + "/review"))
    assert [f.rule for f in result.findings] == ["review_window_short"]

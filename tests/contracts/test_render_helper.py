"""The render helper's last line of defence: a child that overruns its deadline is killed, one that
outgrows its memory ceiling dies alone, and the helper leaves when its server does.

The sandbox stops every hostile template we know of long before either happens
(test_template_limits.py), so these tests stand in an over-long or over-large fill-in for the one
we don't know of yet."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from app.contracts.templates.limits import TOO_MUCH_MEMORY, TOO_SLOW

ROOT = Path(__file__).resolve().parents[2]


def helper(replacement: str | None = None) -> subprocess.Popen:
    setup = f"h.fill_in = {replacement}; " if replacement else ""
    code = f"import time; import app.contracts.templates.render_helper as h; {setup}h.main()"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def ask(process: subprocess.Popen, request_id: int, seconds: float, jobs: list) -> dict:
    process.stdin.write(json.dumps({"id": request_id, "seconds": seconds, "jobs": jobs}).encode() + b"\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def leave(process: subprocess.Popen) -> int:
    process.stdin.close()
    return process.wait(timeout=10)


JOB = ["Hello {{ name }}", ["name"], {"name": "Acme"}]


def test_the_helper_fills_templates_in_and_leaves_with_its_server():
    process = helper()
    try:
        assert ask(process, 7, 2.0, [JOB, JOB]) == {"id": 7, "results": [["ok", "Hello Acme\n"]] * 2}
        refused = ask(process, 8, 2.0, [["{{ 'x' * 10**10 }}", [], {}]])
        assert refused["id"] == 8 and refused["results"][0][0] == "limit"
    finally:
        assert leave(process) == 0


def test_a_child_past_its_deadline_is_killed_and_the_answer_says_so():
    process = helper("lambda jobs, seconds: time.sleep(60)")
    try:
        started = time.monotonic()
        answer = ask(process, 1, 0.3, [JOB])
        assert time.monotonic() - started < 2
        assert answer == {"id": 1, "results": [["limit", TOO_SLOW]]}
        # The helper is still there for the next request.
        second = ask(process, 2, 0.3, [JOB])
        assert second["id"] == 2
    finally:
        assert leave(process) == 0


def test_a_child_that_outgrows_its_memory_ceiling_dies_alone():
    process = helper("lambda jobs, seconds: [['ok', 'x' * (2 * 1024**3)]]")
    try:
        started = time.monotonic()
        answer = ask(process, 1, 2.0, [JOB])
        assert time.monotonic() - started < 2
        assert answer == {"id": 1, "results": [["limit", TOO_MUCH_MEMORY]]}
    finally:
        assert leave(process) == 0


def test_at_most_a_few_children_run_at_once_and_every_request_is_answered():
    from app.contracts.templates.render_helper import GRACE_SECONDS, MAX_CHILDREN

    process = helper("lambda jobs, seconds: time.sleep(60)")
    try:
        started = time.monotonic()
        for request_id in range(2 * MAX_CHILDREN):
            process.stdin.write(json.dumps({"id": request_id, "seconds": 0.2, "jobs": [JOB]}).encode() + b"\n")
        process.stdin.flush()
        answers = [json.loads(process.stdout.readline()) for _ in range(2 * MAX_CHILDREN)]
        elapsed = time.monotonic() - started
        assert sorted(a["id"] for a in answers) == list(range(2 * MAX_CHILDREN))
        assert all(a["results"] == [["limit", TOO_SLOW]] for a in answers)
        assert elapsed >= 2 * (0.2 + GRACE_SECONDS) - 0.1  # two rounds: the second batch waited its turn
    finally:
        assert leave(process) == 0

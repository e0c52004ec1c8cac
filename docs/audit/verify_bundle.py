#!/usr/bin/env python3
"""Check a Pactline proof bundle without Pactline: python3 verify_bundle.py bundle.json

A bundle lists audit events as {"seq", "occurred_at", "kind", "actor_id", "subject_type",
"subject_id", "data", "prev_hash", "hash"} and the chain head at export time. For each event:

    hash = SHA-256( prev_hash (64 hex characters, as text)
                    ‖ JSON of {seq, occurred_at, kind, actor_id, subject_type, subject_id, data}
                      with keys sorted, no spaces, UTF-8 )

A contract's events are a subset of the platform-wide chain, so consecutive events of one
contract need not have consecutive seq numbers; every event's own hash must match, and where
two bundle events are neighbours in the chain (seq n and n+1) the second's prev_hash must be
the first's hash. Exit status 0 means every check passed. Standard library only."""

from __future__ import annotations

import hashlib
import json
import sys


def canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: dict) -> str:
    body = {key: event[key] for key in ("seq", "occurred_at", "kind", "actor_id", "subject_type", "subject_id", "data")}
    return hashlib.sha256(event["prev_hash"].encode() + canonical(body)).hexdigest()


def check(bundle: dict) -> list[str]:
    problems = []
    events = sorted(bundle["events"], key=lambda e: e["seq"])
    by_seq = {e["seq"]: e for e in events}
    for event in events:
        if event_hash(event) != event["hash"]:
            problems.append(f"event {event['seq']} ({event['kind']}): content does not match its hash")
        before = by_seq.get(event["seq"] - 1)
        if before is not None and event["prev_hash"] != before["hash"]:
            problems.append(f"event {event['seq']}: prev_hash is not the hash of event {before['seq']}")
    head = bundle.get("chain_head")
    if head and events and head["seq"] < events[-1]["seq"]:
        problems.append("the chain head is older than the bundle's last event")
    return problems


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        bundle = json.load(handle)
    problems = check(bundle)
    for problem in problems:
        print("BROKEN:", problem)
    if not problems:
        print(
            f"OK: {len(bundle['events'])} events verified; chain head #{bundle['chain_head']['seq']} {bundle['chain_head']['hash']}"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""The printed table and bench/results/latest.json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.servers import ROOT

RESULTS = ROOT / "bench" / "results"

# Above this share of one core, the load generator itself may have been the bottleneck.
CLIENT_SATURATED = 0.9
# Below this, a saturated single-worker server was not getting its core: something else ran.
SERVER_STARVED = 0.8


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(rows: list[dict[str, Any]], baseline: str) -> str:
    width = max(26, *(len(row["name"]) + 1 for row in rows))
    lines = [f"{'target':<{width}}{'req/s':>8}{'p50 ms':>10}{'p99 ms':>9}{'errors':>9}{'vs bare':>10}"]
    for row in rows:
        ratio = "" if row["name"] == baseline else _num(row.get("vs_bare"), ".2f")
        lines.append(
            f"{row['name']:<{width}}{row['rps']:>8.0f}{_num(row['p50_ms'], '.2f'):>10}"
            f"{_num(row['p99_ms'], '.2f'):>9}{row['errors']:>9}{ratio:>10}"
        )
    return "\n".join(lines)


def footnotes(rows: list[dict[str, Any]]) -> str:
    notes: list[str] = []
    for row in rows:
        if row["errors"]:
            parts = [f"HTTP {status} ×{n}" for status, n in row["error_statuses"].items()]
            parts += [f"{name} ×{n}" for name, n in row["error_exceptions"].items()]
            notes.append(f"errors in {row['name']}: {', '.join(parts)}")
        preflight = row.get("preflight") or {}
        if preflight.get("status") not in (None, *row["expect"]):
            notes.append(f"{row['name']}: a single request before the run answered {preflight['status']}")
    notes.append("cpu over the measured window (1.00 = one core), server / load generator:")
    for row in rows:
        notes.append(f"  {row['name']:<28} {_num(row['server_cpu'], '.2f')} / {_num(row['client_cpu'], '.2f')}")
    if any((row["client_cpu"] or 0) > CLIENT_SATURATED for row in rows):
        notes.append(
            "note: the load generator used most of a core in some targets; those numbers are a floor "
            "for the server, and a ratio against a client-bound bare run is optimistic."
        )
    starved = [row["name"] for row in rows if row["server_cpu"] is not None and row["server_cpu"] < SERVER_STARVED]
    if starved:
        notes.append(
            f"note: the server did not get a full core during {', '.join(starved)}; another process "
            "competed for the CPU (load average is in latest.json), so treat this run as noisy."
        )
    return "\n".join(notes)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git_revision() -> str | None:
    try:
        head = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,  # noqa: S607
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,  # noqa: S607
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "litestar": _version("litestar"),
        "uvicorn": _version("uvicorn"),
        "uvloop": _version("uvloop"),
        "httptools": _version("httptools"),
    }


def write_json(rows: list[dict[str, Any]], baseline: str, options: dict[str, Any], extra: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": _git_revision(),
        "machine": machine(),
        "options": options,
        "baseline": baseline,
        "results": rows,
        **extra,
    }
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path

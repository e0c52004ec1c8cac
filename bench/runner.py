"""One benchmark run: embedded services, migrations, both servers, every scenario, then clean-up."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import string
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import audit, escrow, invoices, leads, notify, pdf, reconciliation, report, sse, webhooks
from bench.load import LoadSpec, run_load_in_process
from bench.scenarios import BASELINE, SCENARIOS, Scenario, SetupContext
from bench.servers import UvicornServer, free_port

LEAD_PIPELINE = "lead intake"  # measured by bench/leads.py, not a Scenario
AUDIT_CHAIN = "audit chain"  # bench/audit.py
CONTRACT_PDF = "contract pdf"  # bench/pdf.py
RECEIPT_PDF = "receipt pdf"  # bench/invoices.py
ESCROW_RELEASES = "escrow releases"  # bench/escrow.py
WEBHOOK_LIVE = "webhook to live update"  # bench/webhooks.py
RECONCILIATION = "reconciliation"  # bench/reconciliation.py
SSE_FANOUT = "sse fan-out"  # bench/sse.py
NOTIFY = "notify"  # bench/notify.py


@dataclass(frozen=True)
class Options:
    seconds: float = 5.0
    warmup: float = 1.0
    connections: int = 32
    only: tuple[str, ...] = ()  # scenario names; empty means all


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Signals:
    """Ctrl-C, SIGTERM and SIGHUP all become one KeyboardInterrupt; once clean-up has begun,
    further signals are ignored so it can finish stopping servers and services."""

    def __init__(self) -> None:
        self.interrupted = False
        self.cleaning_up = False

    def handler(self, signum: int, frame: object) -> None:
        if self.interrupted or self.cleaning_up:
            say(f"bench: {signal.Signals(signum).name} ignored while stopping servers and services")
            return
        self.interrupted = True
        raise KeyboardInterrupt

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self.handler)


_signals = _Signals()


def run_guarded(options: Options) -> int:
    _signals.install()
    try:
        return run(options)
    except KeyboardInterrupt:
        say("bench: interrupted; everything it started has been stopped")
        return 130
    except Exception as exc:  # noqa: BLE001 — one readable line, the details are in the message
        say(f"bench: failed: {exc}")
        return 1


def app_environment(services: dict[str, str], port: int) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits
    return {
        "ENVIRONMENT": "production",
        "SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(64)),
        "DATABASE_URL": services["DATABASE_URL"],
        "REDIS_URL": services["REDIS_URL"],
        "SMTP_URL": "smtp://127.0.0.1:2525",  # nothing listens; no scenario sends mail
        "PAYMENTS_PROVIDER": "sandbox",
        "PAYMENTS_SANDBOX": "1",
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "1",
        # The lead pipeline bench pushes hundreds of leads through one key in seconds.
        "LEADS_API_PER_MINUTE": "100000",
    }


def _preflight(server: UvicornServer, scenario: Scenario) -> dict[str, Any] | None:
    """One request before the load, to record what the target answered and what it carried."""
    request = scenario.request
    if request is None or request.method != "GET":
        return None
    try:
        status, headers, body = server.get(request.path, dict(request.headers))
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    names = {key for key, _ in headers}
    return {
        "status": status,
        "bytes": len(body),
        "content_type": next((v for k, v in headers if k == "content-type"), None),
        "set_cookies": [v.split("=", 1)[0] for k, v in headers if k == "set-cookie"],
        "security_headers": "content-security-policy" in names and "x-frame-options" in names,
    }


def _access_log(log: Path) -> dict[str, Any]:
    """How many access lines the app wrote, and whether they are the JSON lines production ships."""
    lines, sample = 0, None
    try:
        with log.open("rb") as f:
            for line in f:
                if b"pactline.access" in line:
                    lines += 1
                    sample = sample or line
    except OSError:
        pass
    is_json = False
    if sample is not None:
        try:
            is_json = isinstance(json.loads(sample), dict)
        except ValueError:
            pass
    return {"lines": lines, "json": is_json, "sample": sample.decode(errors="replace").strip() if sample else None}


OWNER_FILE = "bench.pid"


def _alive(pid: int, marker: str) -> bool:
    """Whether `pid` runs and its command line mentions `marker` (so a reused pid is not mistaken)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return marker.encode() in f.read()
    except OSError:
        return False


def sweep_abandoned_runs() -> None:
    """Stop the Postgres and Redis of earlier runs that were killed outright (kill -9), which had no
    chance to clean up. Only directories this module created, whose owner process is gone."""
    for data_dir in Path(tempfile.gettempdir()).glob("pl-bench-*"):
        try:
            owner = int((data_dir / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or a run still being set up
        if _alive(owner, "bench"):
            continue
        say(f"bench: stopping services left by an earlier run in {data_dir}")
        for pidfile, marker, sig in (
            (data_dir / "postgres" / "postmaster.pid", str(data_dir), signal.SIGINT),  # fast shutdown
            (data_dir / "redis" / "redis.pid", str(data_dir), signal.SIGTERM),
        ):
            try:
                pid = int(pidfile.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if _alive(pid, marker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + 10
                while _alive(pid, marker) and time.monotonic() < deadline:
                    time.sleep(0.1)
        shutil.rmtree(data_dir, ignore_errors=True)


def run(options: Options) -> int:
    from app.config import load_settings
    from app.platform.embedded import EmbeddedServices
    from app.platform.migrate import upgrade

    scenarios = [s for s in SCENARIOS if not options.only or s.name in options.only or s.name == BASELINE]
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    sweep_abandoned_runs()
    data_dir = Path(tempfile.mkdtemp(prefix="pl-bench-"))  # short: unix socket paths have a length limit
    (data_dir / OWNER_FILE).write_text(str(os.getpid()))
    services: EmbeddedServices | None = None
    servers: dict[str, UvicornServer] = {}
    try:
        say(f"bench: starting embedded Postgres and Redis in {data_dir}")
        services = EmbeddedServices(data_dir)
        urls = services.start()
        port = free_port()
        env = app_environment(urls, port)
        say("bench: migrating")
        upgrade(load_settings(env))

        servers["app"] = UvicornServer("pactline", "app.asgi:app", env, report.RESULTS / "app.log", port=port)
        servers["bare"] = UvicornServer("bare litestar", "bench.bare_app:app", {}, report.RESULTS / "bare.log")
        say(f"bench: starting pactline on :{servers['app'].port} and bare litestar on :{servers['bare'].port}")
        servers["app"].start("/health")
        servers["bare"].start("/")

        rows: list[dict[str, Any]] = []
        for scenario in scenarios:
            server = servers[scenario.target]
            params = scenario.setup(SetupContext(server.url, dict(server.env))) if scenario.setup else {}
            preflight = _preflight(server, scenario)
            say(
                f"bench: {scenario.name}: {options.warmup:g}s warm-up + {options.seconds:g}s, {options.connections} connections"
            )
            result = run_load_in_process(
                LoadSpec(
                    host="127.0.0.1",
                    port=server.port,
                    request=scenario.request,
                    prepare=scenario.prepare,
                    params=params,
                    connections=options.connections,
                    warmup=options.warmup,
                    seconds=options.seconds,
                    server_pid=server.pid,
                )
            )
            if server.process is None or server.process.poll() is not None:
                raise RuntimeError(f"{server.name} died during {scenario.name}:\n{server.log_tail()}")
            rows.append(
                {
                    "name": scenario.name,
                    "target": scenario.target,
                    "notes": scenario.notes,
                    "preflight": preflight,
                    **result,
                }
            )
            time.sleep(0.5)  # let the server drain its log and settle between targets

        base = next((row for row in rows if row["name"] == BASELINE), None)
        for row in rows:
            row["vs_bare"] = row["rps"] / base["rps"] if base and base["rps"] else None

        print(report.table(rows, BASELINE))
        pipeline = None
        if not options.only or LEAD_PIPELINE in options.only:
            say("bench: lead intake pipeline: posting leads through the API to a `pactline worker`")
            pipeline = leads.measure(servers["app"], dict(servers["app"].env), report.RESULTS)
            print(leads.describe(pipeline))
        chain = None
        if not options.only or AUDIT_CHAIN in options.only:
            say("bench: audit chain: concurrent appends, then verify over 100 000 events")
            chain = audit.measure(dict(servers["app"].env))
            print(audit.describe(chain))
        contract_pdf = None
        if not options.only or CONTRACT_PDF in options.only:
            say(f"bench: contract pdf: a short and a 20-milestone contract, median of {pdf.RUNS}")
            contract_pdf = pdf.measure()
            print(pdf.describe(contract_pdf))
        receipt_pdf = None
        if not options.only or RECEIPT_PDF in options.only:
            say(f"bench: receipt pdf: one receipt rendered {invoices.RUNS} times, the median")
            receipt_pdf = invoices.measure()
            print(invoices.describe(receipt_pdf))
        releases = None
        if not options.only or ESCROW_RELEASES in options.only:
            say(f"bench: escrow releases: {escrow.CONTRACTS} contracts made and funded through the verbs, "
                f"then {escrow.ACTORS} actors race to release")  # fmt: skip
            releases = escrow.measure(dict(servers["app"].env))
            print(escrow.describe(releases))
        live = None
        if not options.only or WEBHOOK_LIVE in options.only:
            say(f"bench: webhook to live update: {webhooks.DELIVERIES} signed sandbox webhooks, the contractor's "
                "stream open")  # fmt: skip
            live = webhooks.measure(servers["app"].url, dict(servers["app"].env))
            print(webhooks.describe(live))
        recon = None
        if not options.only or RECONCILIATION in options.only:
            say(f"bench: reconciliation: {reconciliation.ENTRIES} journal entries seeded in bulk in a database of "
                "its own, then one day's run against the sandbox's records")  # fmt: skip
            recon = reconciliation.measure(dict(servers["app"].env))
            print(reconciliation.describe(recon))
        fanout = None
        if not options.only or SSE_FANOUT in options.only:
            say(f"bench: sse fan-out: conversation-page streams held by a load process, {', '.join(map(str, sse.STEPS))} "
                f"at a time, {sse.DELIVERIES} deliveries per step")  # fmt: skip
            fanout = sse.measure(servers["app"].url, servers["app"].pid, dict(servers["app"].env))
            print(sse.describe(fanout))
        notifications = None
        if not options.only or NOTIFY in options.only:
            say(f"bench: notify: {notify.SUBSCRIBERS} event streams held, {notify.EVENTS} notifications one at a "
                f"time, then {notify.BURST} by {notify.WRITERS} writers")  # fmt: skip
            notifications = notify.measure(servers["app"].url, servers["app"].pid, dict(servers["app"].env))
            print(notify.describe(notifications))
        print(report.footnotes(rows), file=sys.stderr)
        access_log = _access_log(servers["app"].log_path)
        if not access_log["lines"]:
            say("bench: warning: the app wrote no access log lines; production writes one per request")
        elif not access_log["json"]:
            say(
                "bench: warning: the app's access log lines are not JSON (see bench/results/app.log), "
                "so the logging cost measured is not the one production is meant to have"
            )
        path = report.write_json(
            rows,
            BASELINE,
            {"seconds": options.seconds, "warmup": options.warmup, "connections": options.connections},
            {
                "load_average_before": load_before,
                "app_environment": {k: v for k, v in env.items() if k != "SECRET_KEY"},
                "access_log": access_log,
                "lead_pipeline": pipeline,
                "audit_chain": chain,
                "contract_pdf": contract_pdf,
                "receipt_pdf": receipt_pdf,
                "escrow_releases": releases,
                "webhook_live_update": live,
                "reconciliation": recon,
                "sse_fanout": fanout,
                "notify": notifications,
                "logs": {name: str(server.log_path) for name, server in servers.items()},
            },
        )
        say(f"bench: wrote {path.relative_to(report.ROOT)}")
        return 0
    finally:
        _signals.cleaning_up = True
        for server in servers.values():
            server.stop()
        if services is not None:
            services.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)

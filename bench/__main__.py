"""`python -m bench`: measure Pactline against a bare Litestar app in one run and print the ratios."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from bench.runner import (
        AUDIT_CHAIN,
        CONTRACT_PDF,
        ESCROW_RELEASES,
        LEAD_PIPELINE,
        NOTIFY,
        RECEIPT_PDF,
        RECONCILIATION,
        SSE_FANOUT,
        WEBHOOK_LIVE,
        Options,
        run_guarded,
    )
    from bench.scenarios import SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per target (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        choices=[s.name for s in SCENARIOS]
        + [
            LEAD_PIPELINE,
            AUDIT_CHAIN,
            CONTRACT_PDF,
            RECEIPT_PDF,
            ESCROW_RELEASES,
            WEBHOOK_LIVE,
            RECONCILIATION,
            SSE_FANOUT,
            NOTIFY,
        ],
        help="run only this scenario (repeatable); the bare baseline always runs",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.connections < 1:
        parser.error("--seconds must be > 0, --warmup >= 0, --connections >= 1")
    return run_guarded(Options(args.seconds, args.warmup, args.connections, tuple(args.only)))


if __name__ == "__main__":  # the load generator's spawned process imports this module too
    sys.exit(main())

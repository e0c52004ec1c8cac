"""Escrow: the double-entry money ledger (decision 0029) that funding, releases and refunds post to."""

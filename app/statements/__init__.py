"""Statements and money pages: a contract's statement (page and CSV), /payments for clients, and
the 12-month chart that /payments and /earnings share (decision 0041)."""

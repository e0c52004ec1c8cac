"""Amendments: typed changes to an active contract, signed by both as a new version."""

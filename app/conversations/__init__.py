"""Conversations between the parties of a proposal or a contract (decision 0043)."""

"""Accounts: users, passwords, sessions and role guards."""

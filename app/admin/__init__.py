"""The admin console: people, failed jobs, account history. Two-step sign-in required."""

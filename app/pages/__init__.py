"""Public pages and each role's home."""

"""Cross-cutting web pieces: templating, htmx helpers, errors, security headers, operations."""

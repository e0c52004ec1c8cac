"""The tamper-evident audit chain: append-only events, each hashing the one before it."""

"""Process-level plumbing: embedded services, logging, the dev runner."""

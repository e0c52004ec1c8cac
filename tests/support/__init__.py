"""Test harness pieces: embedded services, SMTP fake, live server, SSE client, factories."""

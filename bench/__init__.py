"""Benchmarks: `make bench` (python -m bench) measures Pactline against a bare Litestar app in one run."""

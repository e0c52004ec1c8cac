# Pactline — the commands in README.md. Needs only Python 3.11+; uv is installed if missing.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PORT ?= 8000

.PHONY: dev test bench lint sync migrate seed worker

$(UV):
	@echo "uv not found: installing it into .tools/"
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

sync: $(UV)
	$(UV) sync --frozen

dev: sync
	PORT=$(PORT) $(UV) run pactline dev

test: sync
	$(UV) run pytest $(PYTEST_ARGS)

bench: sync
	$(UV) run python -m bench

lint: sync
	$(UV) run ruff check app tests bench

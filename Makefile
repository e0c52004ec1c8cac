# Pactline — the commands in README.md. Needs only Python 3.11+; uv is installed if missing.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# --frozen: run exactly what uv.lock says, never re-resolve it behind your back.
RUN := $(UV) run --frozen
PORT ?= 8000

.PHONY: dev test bench lint sync migrate seed worker verify create-admin pactline

$(UV):
	@echo "uv not found: installing it into .tools/"
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

sync: $(UV)
	$(UV) sync --frozen

dev: sync
	PORT=$(PORT) $(RUN) pactline dev

test: sync
	$(RUN) pytest $(PYTEST_ARGS)

bench: sync
	$(RUN) python -m bench

lint: sync
	$(RUN) ruff check app tests bench

# The `pactline` commands. Like the app, each uses the embedded services under .data/ when
# DATABASE_URL / REDIS_URL are unset (reusing those of a running `make dev`).
migrate: sync
	$(RUN) pactline migrate

seed: sync
	$(RUN) pactline demo-seed

worker: sync
	$(RUN) pactline worker

verify: sync
	$(RUN) pactline ledger verify

create-admin: sync
	$(RUN) pactline create-admin

# Any other command: make pactline ARGS="jobs failed"
pactline: sync
	$(RUN) pactline $(ARGS)

# Hogsend for Django. Quick start: `make demo` (run it) and `make test` (test it).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Every process reads it: settings derive PUBLIC_BASE_URL (links in emails) from it.
export PORT

.PHONY: venv demo test lint fmt bench chaos clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# A fresh SECRET_KEY, written once and reused by every process (django-q2 signs
# task payloads with it; unsubscribe tokens must survive restarts), and a token
# for /metrics.
.env:
	@$(PY) -c "import secrets; print('SECRET_KEY=' + secrets.token_urlsafe(50)); print('METRICS_TOKEN=' + secrets.token_urlsafe(24))" > .env
	@echo "wrote .env with a new SECRET_KEY and METRICS_TOKEN"

demo: venv .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py sync_schedules
	$(BIN)/python manage.py demo_setup
	@echo "Starting web (http://localhost:$(PORT)/admin/), qcluster workers and the run_due clock. Ctrl-C stops all."
	@echo "Watch the support story in another terminal: .venv/bin/python manage.py demo_support_followup"
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/python manage.py qcluster & \
	  $(BIN)/python manage.py run_due --loop & \
	  $(BIN)/python manage.py runserver 0.0.0.0:$(PORT) --noreload

# axe-core (package.json, pinned in package-lock.json), injected into pages by the
# browser tests' accessibility checks; they fail without it.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund && touch $@; \
	else echo "warning: npm not found: install Node.js, or the browser tests' accessibility checks fail" >&2; fi

test: venv .env node_modules/.package-lock.json
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# PostgreSQL figures beside pgbench's limit (bench/README.md). Race a peer on the same
# work with PEERS=dbos (its own venv, /tmp/dbos-venv, made on first use); smoke-test
# the harness in a few minutes with BENCH_ARGS=--quick.
bench: venv .env
	$(BIN)/python bench/run.py $(if $(PEERS),--peers $(PEERS)) $(BENCH_ARGS)

# Fault runs on PostgreSQL + Redis (recreates the database hogsend_chaos): a wave of
# 1,000 support follow-ups while a qcluster is SIGKILLed every few seconds. Variants:
#   make chaos CHAOS_ARGS="--restart-postgres"   (or --restart-redis, --flaky-email, --sigterm)
chaos: venv .env
	$(BIN)/python chaos/run.py $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache node_modules

# Two commands on a fresh machine:
#   make run    set up, load demo data, print an admin login and API token, serve web + worker
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev env migrate demo web worker bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# A local .env on first run: DEBUG on, a fresh random SECRET_KEY; never committed.
.env:
	@echo "DEBUG=1" > .env
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" >> .env
	@echo "CREDENTIALS_ENCRYPTION_KEYS=$$($(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" >> .env
	@echo "# Local demo only: staff skip the TOTP step (production requires it)." >> .env
	@echo "OTP_REQUIRED_FOR_STAFF=0" >> .env
	@echo "Wrote .env (DEBUG=1, random SECRET_KEY and credentials key, no TOTP step for the demo)."

env: .env

migrate: install env
	@mkdir -p var
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

# Web server, Huey worker and the fake Amazon DSP (on loopback) together; Ctrl-C stops all three.
DSP_PORT ?= 8765
run: demo
	@echo "Web:    http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "Fake Amazon DSP: http://127.0.0.1:$(DSP_PORT)/  (AmazonConnection 'demo' points at it)"
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py run_fake_dsp --port $(DSP_PORT) --connection demo & \
	$(PY) manage.py run_huey & \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload & \
	wait

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(PY) bench/bid_api.py
	$(PY) bench/audit.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache

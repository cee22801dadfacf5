# Closeout: `make demo` and `make test` do all the set-up on a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint env clean system-deps bench reliability

env: $(STAMP)

# One constraints file pins every package (see README, "Updating dependencies").
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/closeout demo

# The benchmarks of bench/README.md: every scenario at full size, one table, JSON in bench/results/.
bench: $(STAMP) system-deps
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/lint-imports

# Two test processes (pytest-xdist), one file each at a time: the fixtures a file shares stay in one process.
TEST_WORKERS ?= 2
test: $(STAMP) lint system-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# The fault campaign (README, "Reliability"): 5,000 jobs and 5,000 messages through two workers on PostgreSQL
# while every dependency fails; exit 1 unless `closeout audit` passes at the end. Needs PostgreSQL and Dovecot.
reliability: $(STAMP) system-deps
	$(BIN)/python -m reliability.campaign

# Debian packages the tests start by themselves, as processes on 127.0.0.1: Dovecot for the mail tests
# (tests/mail/dovecot_server.py) and Chromium for the queue's browser tests (never a downloaded browser).
# When some are missing and we are root: one `apt-get update`, one install. The policy-rc.d guard and
# `systemctl disable --now` keep Dovecot's system service from ever listening on 143/993. Under CI=true
# the tests fail, never skip, if a package is still missing.
SYSTEM_PACKAGES := dovecot-imapd:/usr/sbin/dovecot chromium:/usr/bin/chromium chromium-driver:/usr/bin/chromedriver

system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  [ -x "$${pair#*:}" ] || missing="$$missing $${pair%%:*}"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
	  echo "installing from Debian:$$missing"; \
	  guard=0; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; rc=$$?; \
	  if [ $$guard = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	  if command -v systemctl >/dev/null; then systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true; fi; \
	  exit $$rc; \
	elif [ -n "$$missing" ]; then echo "missing Debian packages:$$missing (run make test as root to install them)"; fi

clean:
	rm -rf $(VENV) .closeout .pytest_cache

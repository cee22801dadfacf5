# Closeout: `make demo` and `make test` do all the set-up on a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint env clean dovecot chromium

env: $(STAMP)

# One constraints file pins every package (see README, "Updating dependencies").
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/closeout demo

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP) lint dovecot chromium
	$(BIN)/pytest

# The mail tests start a private Dovecot on 127.0.0.1 (tests/mail/dovecot_server.py). Install Debian's package when it
# is missing and we are root; the policy-rc.d guard and `systemctl disable --now` keep the system service from ever listening on 143/993.
dovecot:
	@if [ ! -x /usr/sbin/dovecot ] && [ "$$(id -u)" = 0 ]; then \
	  guard=0; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd; rc=$$?; \
	  if [ $$guard = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	  if command -v systemctl >/dev/null; then systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true; fi; \
	  exit $$rc; \
	fi

# The queue's browser tests drive Debian's Chromium through Playwright (never a downloaded browser). Install it
# when it is missing and we are root; under CI=true the tests fail, never skip, if it is still missing.
chromium:
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

clean:
	rm -rf $(VENV) .closeout .pytest_cache

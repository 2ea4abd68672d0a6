# Oracle (issue 4): PostgreSQL from Debian's packages for the tests (the same suite runs on SQLite
# and PostgreSQL), and the end-to-end benchmark. Included from the main Makefile.

POSTGRES_STAMP := $(TOOLCHAIN)/postgres.stamp
SUDO := $(shell test "$$(id -u)" -eq 0 || echo sudo)

# The tests start their own throwaway cluster with initdb/pg_ctl; nothing runs as a system service.
$(POSTGRES_STAMP):
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends postgresql; }
	ls /usr/lib/postgresql/*/bin/postgres
	mkdir -p $(TOOLCHAIN) && touch $@

.PHONY: bench-oracle
bench-oracle: setup compile
	$(VENV)/bin/python scripts/bench_oracle.py

# Reputation reads of the HTTP API under 200 concurrent clients (its own chain on 8750, API on 8751).
.PHONY: bench-api
bench-api: setup compile
	$(VENV)/bin/python scripts/bench_api.py

# Outbound deliveries per second to the Zendesk and Freshdesk stand-ins and a generic receiver.
.PHONY: bench-deliveries
bench-deliveries: setup
	$(VENV)/bin/python scripts/bench_deliveries.py

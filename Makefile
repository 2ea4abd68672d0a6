# PeerCare: `make run` starts it, `make test` tests it. Both set up what they need first, and a
# second run reinstalls nothing (every install step is keyed on its lock file).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || command -v python3)
ROOT := $(abspath .)

VENV := .venv
BROWNIE_VENV := .venv-brownie
SLITHER_VENV := .venv-slither
TOOLCHAIN := .toolchain
SOLC_VERSION := 0.8.28

# Brownie and slither find the compiler shim through py-solc-x, and anvil on the PATH.
export SOLCX_BINARY_PATH := $(ROOT)/$(TOOLCHAIN)/solc
export PATH := $(ROOT)/$(TOOLCHAIN)/bin:$(ROOT)/$(BROWNIE_VENV)/bin:$(PATH)

BROWNIE := $(BROWNIE_VENV)/bin/brownie

include mk/content.mk
include mk/reputation.mk
include mk/oracle.mk
include mk/web.mk

.PHONY: help setup run test test-fast test-contracts test-services lint slither gas bench compile clean

help:
	@echo "make run    set up, then start the local chain (state on disk) and deploy on first start"
	@echo "make test   set up, then run every check: lint, slither, contract and service tests"
	@echo "make test-fast  the inner loop: ruff and the pure tests (no chain, no servers; ~15 s)"
	@echo "make gas    gas used per ledger operation (benchmark, JSON on the last line)"
	@echo "make bench  every benchmark"

setup: node_modules/.stamp $(IPFS_NODE_STAMP) $(POSTGRES_STAMP) $(CHROMIUM_STAMP) $(TOOLCHAIN)/.stamp $(VENV)/.stamp $(BROWNIE_VENV)/.stamp $(TOOLCHAIN)/networks.stamp

# `npm ci` refuses a lock file without the other platforms' optional packages; `npm install`
# still installs exactly the locked versions.
node_modules/.stamp: package.json package-lock.json
	npm install --no-audit --no-fund --ignore-scripts
	touch $@

# The compiler shim answers py-solc-x as `solc-v<version>`; anvil is linked from its npm package.
$(TOOLCHAIN)/.stamp: node_modules/.stamp toolchain/solc-shim.js
	mkdir -p $(TOOLCHAIN)/solc $(TOOLCHAIN)/bin
	printf '#!/bin/sh\nexec node "%s/toolchain/solc-shim.js" "$$@"\n' "$(ROOT)" > $(TOOLCHAIN)/solc/solc-v$(SOLC_VERSION)
	chmod +x $(TOOLCHAIN)/solc/solc-v$(SOLC_VERSION)
	ln -sf "$$(node -p "require.resolve('@foundry-rs/anvil-' + {x64: 'linux-amd64', arm64: 'linux-arm64'}[process.arch] + '/bin/anvil')")" $(TOOLCHAIN)/bin/anvil
	$(TOOLCHAIN)/bin/anvil --version | head -1
	touch $@

$(VENV)/.stamp: requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(BROWNIE_VENV)/.stamp: toolchain/requirements-brownie.txt
	test -x $(BROWNIE_VENV)/bin/python || $(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/pip install --quiet --disable-pip-version-check -r toolchain/requirements-brownie.txt
	touch $@

$(SLITHER_VENV)/.stamp: toolchain/requirements-slither.txt
	test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet --disable-pip-version-check -r toolchain/requirements-slither.txt
	touch $@

$(TOOLCHAIN)/networks.stamp: toolchain/brownie-networks.yaml toolchain/brownie_networks.py $(BROWNIE_VENV)/.stamp
	$(BROWNIE_VENV)/bin/python toolchain/brownie_networks.py toolchain/brownie-networks.yaml
	touch $@

compile: setup
	$(BROWNIE) compile

run: setup compile
	$(VENV)/bin/peercare up

test: setup lint slither test-contracts test-services

# Lint needs the Python environment only (no chain, node, browser or database set-up).
lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check peercare tests scripts toolchain
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The inner loop: ruff, and the tests of pure logic (reputation, routing, Merkle trees, EIP-712
# vectors) that start no chain and no server.
FAST_SUITES := tests/services/reputation --ignore=tests/services/reputation/publication tests/services/routing \
	--ignore=tests/services/routing/live --ignore=tests/services/routing/rounds \
	tests/services/runtime tests/services/core/test_eip712_vectors.py tests/services/core/test_merkle.py

test-fast: $(VENV)/.stamp
	$(VENV)/bin/ruff check peercare tests scripts toolchain
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q $(FAST_SUITES)

# Static analysis through the same compiler shim; fails on any medium or high finding.
slither: setup $(SLITHER_VENV)/.stamp
	$(SLITHER_VENV)/bin/slither contracts/ --solc-standard-json --solc $(TOOLCHAIN)/solc/solc-v$(SOLC_VERSION) \
		--solc-remaps "@openzeppelin/contracts=node_modules/@openzeppelin/contracts" \
		--filter-paths "node_modules|contracts/test" --exclude-informational --exclude-low --fail-medium

test-contracts: setup compile
	$(BROWNIE) test tests/contracts --network peercare-test

# Two pytest runs side by side (one per core): the oracle's suites, and all the others. Every
# suite starts its own servers on its own ports, so the two never contend for one.
OTHER_SUITES := $(filter-out tests/services/oracle/,$(sort $(wildcard tests/services/*/) $(wildcard tests/services/test_*.py)))

test-services: setup compile
	@mkdir -p reports
	@$(VENV)/bin/pytest tests/services/oracle > reports/pytest-oracle.log 2>&1 & oracle=$$!; \
	$(VENV)/bin/pytest $(OTHER_SUITES); others=$$?; \
	wait $$oracle; status=$$?; \
	echo "--- tests/services/oracle (run alongside; its log is reports/pytest-oracle.log)"; \
	cat reports/pytest-oracle.log; \
	exit $$((status || others))

# `brownie run scripts/gas.py --network peercare-test`, also from a folder with a dot in its name
# (where `brownie run` cannot import the script: see peercare/chain/deploy.py).
gas: setup compile
	$(VENV)/bin/python -m peercare.chain.deploy scripts/gas.py peercare-test

bench: gas bench-content bench-reputation bench-routing-eval bench-oracle bench-api bench-deliveries

clean:
	rm -rf build reports $(TOOLCHAIN)

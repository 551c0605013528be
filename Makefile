# realtime.nginx developer commands. `make demo` and `make test` do all the
# setup they need on a fresh Debian machine (see README.md).

SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
export PATH := $(VENV)/bin:$(PATH)
export PYTHONPATH := $(ROOT)/tests$(if $(PYTHONPATH),:$(PYTHONPATH))
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/build/collections
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export ANSIBLE_FORCE_COLOR := 0
# Fewer round trips per task on the test hosts' docker connection.
export ANSIBLE_PIPELINING := True
export PY_COLORS := 0
# The nginx that unit and property tests run `nginx -t` with: Debian's,
# unpacked into build/ by tools/ensure-nginx.sh (never installed or started).
export REALTIME_NGINX_BINARY ?= $(ROOT)/build/nginx/usr/sbin/nginx
# Molecule's advice to move molecule/ under extensions/ does not apply: this
# collection keeps its scenarios at the top level.
export MOLECULE_NO_LOG := false

# In four lanes (tools/run-scenarios.sh): scenarios mostly wait on apt, containers and
# streams, so four share two cores. The lanes take the scenarios from one queue in this
# order, the longest first (failures takes 8 to 13 minutes, metrics 4 to 9 on a busy
# machine, fleet about 6, adopt 2 to 6, interop (servers x clients x HTTP versions, with its
# servers on the controller) about 4, the others 2 to 5), so they end close together;
# demo_browser, whose browser test times events to 100 ms, goes last, when fewer lanes are
# busy. oldest_core runs in `make matrix`. demo_browser is the demo with its browser test on
# ports of its own, so a running `make demo` stays up.
SCENARIOS ?= failures metrics fleet adopt default interop probe routing pipelines platforms layers reload socketio balancing acme security demo_browser
MOLECULE_LANES ?= 4

.PHONY: help setup venv nginx prometheus chromium pebble docker images demo demo-clean demo-screenshot test lint unit docs docs-test sanity matrix molecule interop-report bench clean

help:
	@echo "make demo       provision a demo proxy in a container and show SSE and WebSocket through it"
	@echo "make demo-clean remove the demo container"
	@echo "make demo-screenshot  run the demo's browser test against the running demo and save docs/demo.png"
	@echo "make test       the whole suite: lint, unit tests, the docs site, the ansible-core matrix, molecule scenarios ($(SCENARIOS))"
	@echo "make docs       build the documentation site into build/docs (open build/docs/index.html)"
	@echo "make matrix     ansible-test units and sanity on ansible-core 2.16 to 2.19, and a molecule scenario on 2.16"
	@echo "make bench      measure latency, capacity and reloads; regenerates docs/performance.md"
	@echo "make interop-report  docs/interop.md from the last run of the interop scenario"

setup: venv nginx prometheus chromium pebble docker images

venv:
	@bash tools/setup-venv.sh

nginx:
	@bash tools/ensure-nginx.sh

# Debian's prometheus (server and promtool), unpacked into build/prometheus: the
# alert rules' tests (lint) and the metrics scenario's Prometheus server.
prometheus:
	@bash tools/ensure-prometheus.sh

# Debian's Chromium, for the browser tests (molecule/demo_browser, molecule/interop).
chromium:
	@bash tools/ensure-chromium.sh

# Debian's pebble, Let's Encrypt's ACME test CA, for the acme scenario (molecule/acme).
pebble:
	@bash tools/ensure-pebble.sh

# Debian's gdb, with which the benchmark reads nginx's heap (bench/heap.py).
.PHONY: gdb
gdb:
	@bash tools/ensure-gdb.sh

docker:
	@bash tools/ensure-docker.sh

images: docker
	@bash tools/ensure-images.sh

demo: setup
	@bash tools/demo.sh

demo-clean: venv
	@bash tools/demo.sh --clean

# The README's docs/demo.png, from the running demo: its browser test, which saves it.
demo-screenshot: venv chromium
	REALTIME_DEMO_SCREENSHOTS=docs molecule verify -s demo

# matrix includes `make sanity` (its ansible-core 2.19 session is that run).
test: setup lint unit docs-test matrix molecule

lint: venv prometheus
	yamllint -s .
	ansible-lint --profile production --offline
	antsibull-changelog lint
	antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs --validate-collection-refs self .
	build/prometheus/usr/bin/promtool check rules extensions/prometheus/realtime_nginx.rules.yml
	build/prometheus/usr/bin/promtool test rules tests/prometheus/realtime_nginx.rules.test.yml
	@bash tools/check-collection.sh

unit: venv nginx prometheus
	pytest -p no:cacheprovider tests/unit

# The documentation site, offline: antsibull-docs and Sphinx (tools/build-docs.sh).
docs: venv
	@bash tools/build-docs.sh

# The built site in headless Chromium (tests/docs/).
docs-test: docs chromium
	pytest -p no:cacheprovider tests/docs

sanity: venv
	@bash tools/ansible-test.sh

matrix: setup
	@bash tools/matrix.sh

# Each scenario's hosts that a stopped earlier run left behind are removed
# before it runs (tools/run-scenarios.sh), and no other scenario's.
molecule: setup
	@bash tools/run-scenarios.sh -j $(MOLECULE_LANES) $(SCENARIOS)

# docs/interop.md from the last `SCENARIOS=interop make molecule` (build/interop/results.json).
interop-report: venv
	python tests/interop/report.py

bench: setup gdb
	python -m bench run

clean:
	rm -rf build .venv

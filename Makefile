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

# In three lanes, alternating (tools/run-scenarios.sh): scenarios mostly wait on apt and on
# streams, so three share two cores well. The order balances the lanes (failures is the
# longest, about 8 minutes; fleet, last, joins the lane with three). oldest_core runs in `make matrix`.
SCENARIOS ?= failures default probe socketio reload routing security balancing layers pipelines platforms fleet
MOLECULE_LANES ?= 3

.PHONY: help setup venv nginx docker images demo demo-clean test lint unit sanity matrix molecule bench clean

help:
	@echo "make demo       provision a demo proxy in a container and show SSE and WebSocket through it"
	@echo "make demo-clean remove the demo container"
	@echo "make test       the whole suite: lint, unit tests, the ansible-core matrix, molecule scenarios ($(SCENARIOS))"
	@echo "make matrix     ansible-test units and sanity on ansible-core 2.16 to 2.19, and a molecule scenario on 2.16"
	@echo "make bench      measure latency, capacity and reloads; regenerates docs/performance.md"

setup: venv nginx docker images

venv:
	@bash tools/setup-venv.sh

nginx:
	@bash tools/ensure-nginx.sh

docker:
	@bash tools/ensure-docker.sh

images: docker
	@bash tools/ensure-images.sh

demo: setup
	@bash tools/demo.sh

demo-clean: venv
	@bash tools/demo.sh --clean

# matrix includes `make sanity` (its ansible-core 2.19 session is that run).
test: setup lint unit matrix molecule

lint: venv
	yamllint -s .
	ansible-lint --profile production --offline
	antsibull-changelog lint
	@bash tools/check-collection.sh

unit: venv nginx
	pytest -p no:cacheprovider tests/unit

sanity: venv
	@bash tools/ansible-test.sh

matrix: setup
	@bash tools/matrix.sh

molecule: setup
	@# Test hosts are named rtn-*; remove any a stopped earlier run left behind.
	@docker ps -aq --filter name=^rtn- | xargs -r docker rm -f >/dev/null
	@bash tools/run-scenarios.sh -j $(MOLECULE_LANES) $(SCENARIOS)

bench: setup
	python -m bench run

clean:
	rm -rf build .venv

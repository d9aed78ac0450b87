# berth: build, run and test.
#
#   make run    install what is missing, start dockerd, build, serve berth
#   make test   install what is missing, start dockerd, build the test image,
#               run the Rust tests, a short API fuzz run and the browser tests
#               (see scripts/test.sh)
#   make fuzz   the long API fuzz run (>= 5,000 requests; scripts/fuzz.sh)
#
# Everything runs as root on Debian 12; nothing asks questions.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
# The steps depend on each other's side effects (a running dockerd, a built
# frontend): never run them in parallel.
.NOTPARALLEL:

export DEBIAN_FRONTEND := noninteractive
export PATH := $(HOME)/.cargo/bin:$(PATH)

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(ROOT)/target)
export BERTH_BIN ?= $(TARGET_DIR)/release/berth

# npm's binaryen (pinned by scripts/deps.sh); frontend/build.sh uses it when set.
WASM_OPT_BIN := $(ROOT)/.tools/node_modules/.bin/wasm-opt
WASM_OPT ?= $(if $(wildcard $(WASM_OPT_BIN)),$(WASM_OPT_BIN),)

BERTH_LISTEN ?= 127.0.0.1:8080
BERTH_DATA_DIR ?= ./data

.PHONY: deps dockerd test-image frontend build release run test unit fuzz fuzz-short e2e e2e-deps screenshot bench clean

## deps: install missing apt packages, the wasm target, wasm-bindgen-cli, binaryen
deps:
	@bash scripts/deps.sh

## dockerd: start a Docker engine unless one answers
dockerd:
	@bash scripts/dockerd.sh

## test-image: build berth-test/busybox:latest from docker/testimage/ (skipped when current)
test-image:
	@bash scripts/test-image.sh

## frontend: build the WASM dashboard into frontend/dist/
frontend:
	$(if $(WASM_OPT),WASM_OPT="$(WASM_OPT)") bash frontend/build.sh

## build: the release binary, with the frontend embedded
build: frontend release

## release: only the release binary (embeds whatever frontend/dist/ holds now)
release:
	cargo build --release -p berth

## run: serve berth on $(BERTH_LISTEN) with data in $(BERTH_DATA_DIR)
run: deps dockerd build
	mkdir -p "$(BERTH_DATA_DIR)"
	exec "$(BERTH_BIN)" serve --listen "$(BERTH_LISTEN)" --data-dir "$(BERTH_DATA_DIR)"

## test: everything, in order, with a time per step (scripts/test.sh)
test:
	@bash scripts/test.sh

## unit: the Rust tests: unit (the frontend's pure logic too, natively) and backend integration tests against the real dockerd
unit:
	cargo test --workspace

## fuzz: schemathesis against a live berth as admin and viewer, >= 5,000 requests (scripts/fuzz.sh)
fuzz: dockerd
	@bash scripts/fuzz.sh long

## fuzz-short: the same, a few hundred requests (a step of `make test`)
fuzz-short:
	@bash scripts/fuzz.sh short

## e2e-deps: npm ci in e2e/ when package-lock.json changed
e2e-deps:
	@cd e2e && stamp=node_modules/.berth-lock-sha && \
	  sha="$$(sha256sum package-lock.json | cut -d' ' -f1)" && \
	  if [ "$$(cat $$stamp 2>/dev/null)" != "$$sha" ]; then \
	    npm ci --no-audit --no-fund --loglevel=error && echo "$$sha" > $$stamp; \
	  fi

## e2e: the browser tests (needs the release binary and a dockerd)
e2e: e2e-deps
	cd e2e && npx --no-install playwright test

## bench: live paths (logs, exec, memory) as ratios against the raw engine, then a soak of
## 200 WebSockets while containers churn (BERTH_SOAK_SECS, 600 by default; 0 skips it); not part of `test`
bench: deps dockerd test-image build
	BERTH_BIN="$(BERTH_BIN)" BERTH_SOAK_SECS="$(or $(BERTH_SOAK_SECS),600)" cargo run --release -p berth --example bench

## screenshot: regenerate docs/screenshot-containers.png for the README
screenshot:
	@bash scripts/screenshot.sh

## clean: build outputs and test leftovers (keeps ./data, .tools/ and images)
clean:
	cargo clean
	rm -rf frontend/dist e2e/node_modules e2e/test-results e2e/playwright-report

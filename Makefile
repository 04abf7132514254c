# tim-onboard: every command a developer or CI needs. `make dev` runs the Worker locally against
# the Tencent emulator; `make test` runs every test. Both install what they need first.
#
# The wasm build never downloads at build time: worker-build would fetch wasm-bindgen, wasm-opt and
# esbuild from GitHub, so we install pinned copies (cargo and npm registries) and point it at them.

SHELL := /bin/bash
WORKER_BUILD_VERSION := 0.8.7
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(CARGO_BIN):$(PATH)
export WRANGLER_SEND_METRICS := false
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
PYTHON := $(CURDIR)/.venv/bin/python
export TIM_TEST_PYTHON := $(PYTHON)
EMULATOR := target/release/tim-emulator
EMULATOR_PORT ?= 8790
DEV_PORT ?= 8787

.PHONY: dev test build tools rust-tools node-tools py-tools emulator unit e2e size clean bench

## Runs the emulator and `wrangler dev` (Ctrl-C stops both).
dev: tools build emulator .dev.vars
	@echo "tim-emulator on http://127.0.0.1:$(EMULATOR_PORT), worker on http://127.0.0.1:$(DEV_PORT)"
	@echo "Send a signed Clerk signup:  node scripts/send-webhook.mjs http://127.0.0.1:$(DEV_PORT)/webhooks/clerk"
	@echo "See the imported accounts:   curl http://127.0.0.1:$(EMULATOR_PORT)/_emulator/accounts"
	@$(EMULATOR) --listen 127.0.0.1:$(EMULATOR_PORT) & emu=$$!; \
	  trap 'kill $$emu 2>/dev/null' EXIT INT TERM; \
	  node_modules/.bin/wrangler dev --ip 127.0.0.1 --port $(DEV_PORT)

## Runs every test: native unit tests, UserSig interop against the official libraries, e2e on workerd.
test: tools build emulator unit size e2e

unit:
	cargo test --workspace --locked

e2e:
	node --test --test-concurrency=1 tests/e2e/

## Fails when the gzipped wasm exceeds the budget.
size:
	@node scripts/check-size.mjs

## Benchmarks against the TypeScript Worker a user would write instead (bench/README.md): CPU per
## signup in plain workerd, throughput, size, cold start, criterion microbenchmarks, a perf profile.
## Writes bench/RESULTS.md. Options: make bench BENCH_ARGS="--quick" (or --n 5000 --skip micro,...).
bench: tools build emulator
	node bench/run.mjs $(BENCH_ARGS)

WASM_FEATURES := $(addprefix --enable-,mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue reference-types exception-handling)

build: tools
	worker-build --release
	@# worker-build keeps the wasm names section; drop it (about 80 KB) without re-optimising.
	$(WASM_OPT_BIN) build/index_bg.wasm -o build/index_bg.wasm --strip-debug --strip-producers $(WASM_FEATURES)

emulator:
	cargo build -p tim-emulator --release --locked

.dev.vars:
	cp .dev.vars.example .dev.vars

tools: rust-tools node-tools py-tools

rust-tools:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@[ "$$(worker-build --version 2>/dev/null)" = "$(WORKER_BUILD_VERSION)" ] || cargo install worker-build --version $(WORKER_BUILD_VERSION) --locked --force
	@# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock; --locked fails on a yanked dependency.
	@[ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force

node-tools: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

py-tools: .venv/.installed

.venv/.installed: tests/requirements.txt
	python3 -m venv .venv
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $@

clean:
	rm -rf build target .venv node_modules .wrangler

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

.PHONY: fuzz cli bench-backfill browser send dev dev-ports d1-local test build worker-artifacts FORCE tools rust-tools node-tools py-tools emulator unit e2e size size-builds clean bench bench-dev

## Runs the emulator and `wrangler dev` as one supervised unit (scripts/dev.mjs): refuses taken
## ports, points the Worker at EMULATOR_PORT, stops both when either exits or on Ctrl-C/SIGTERM/
## SIGHUP, prints the next steps once the Worker is ready. Installs only what dev needs (no Python
## venv) and builds only what changed, once: wrangler's own `make build` then finds nothing to do
## and rebuilds only when a file under src/ or Cargo.toml changes.
## Options: make dev EMULATOR_PORT=8791 DEV_PORT=8788
dev: dev-ports rust-tools node-tools build emulator .dev.vars d1-local
	@exec node scripts/dev.mjs --emulator-port $(EMULATOR_PORT) --dev-port $(DEV_PORT)

# Fails fast, before any build, when a port is taken.
dev-ports:
	@node scripts/dev.mjs --check-ports --emulator-port $(EMULATOR_PORT) --dev-port $(DEV_PORT)

## Builds the command-line tool target/release/tim-onboard (backfill, usersig, check: docs/backfill.md).
cli:
	cargo build -p tim-onboard-cli --release --locked

## 100,000 users from a file into the emulator at Tencent's quota (docs/backfill.md).
bench-backfill: emulator
	cargo run -p tim-onboard-cli --release --locked --example backfill_bench -- $(BENCH_BACKFILL_ARGS)

## Debian's headless Chromium for the browser login test (tests/e2e/login-browser.test.mjs).
browser:
	@[ -x /usr/bin/chromium ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

## Sends one provider's documented signup, signed with .dev.vars, to the Worker of `make dev`:
##   make send P=<provider> [E=<event>] [ID=<provider user id>]   (list: node scripts/send-webhook.mjs --help)
send:
	@if [ -z "$(P)" ]; then echo "usage: make send P=<provider> [E=<event>] [ID=<provider user id>]" >&2; node scripts/send-webhook.mjs --help; exit 2; fi
	@node scripts/send-webhook.mjs $(P) $(E) --url http://127.0.0.1:$(DEV_PORT) $(if $(ID),--user '$(ID)')

## Runs every test: native unit tests, UserSig interop against the official libraries, e2e on workerd.
test: tools build emulator unit size e2e

unit:
	cargo test --workspace --locked
	@# Replays every committed fuzz input (fuzz/corpus, fuzz/regressions) natively on stable.
	cargo test --manifest-path fuzz/Cargo.toml --no-default-features --locked
	@# A build with a single provider must compile too (Cargo features; cheap: no codegen).
	cargo check --locked --target wasm32-unknown-unknown --no-default-features --features clerk

## Coverage-guided fuzzing of the core (fuzz/README.md): installs cargo-fuzz (libFuzzer; nightly
## when installed, else stable) or, with FUZZ_ENGINE=afl, cargo-afl, runs each target for
## FUZZ_SECONDS (default 60), minimises the committed corpora and prints executions and crashes.
## Options: make fuzz FUZZ_TARGETS="webhooks parsers" FUZZ_SECONDS=600 FUZZ_ENGINE=afl
fuzz:
	fuzz/run.sh $(FUZZ_TARGETS)

e2e:
	node --test --test-concurrency=1 tests/e2e/

## Fails when the gzipped wasm (every provider, build/) exceeds the budget; also reports the
## single-provider builds of SIZE_PROVIDERS (target/sizes/<provider>/, built here when stale).
size: size-builds
	@node scripts/check-size.mjs

SIZE_PROVIDERS := clerk supabase
size-builds: rust-tools node-tools $(foreach p,$(SIZE_PROVIDERS),target/sizes/$(p)/index_bg.wasm)

## Benchmarks against the TypeScript Worker a user would write instead (bench/README.md): CPU per
## signup and per login in plain workerd, throughput, size, cold start, criterion microbenchmarks,
## a perf profile; then the queue-mode burst (bench/queue.mjs: 10,000 signups, about a minute) on
## the same snapshot of build/ (bench/.work/ours).
## Writes bench/RESULTS.md. Options: make bench BENCH_ARGS="--quick" (or --n 5000 --skip micro,...;
## --quick also sends the queue burst 1,000 signups only) BENCH_QUEUE_ARGS="--n 2000".
bench: tools build emulator
	node bench/run.mjs $(BENCH_ARGS)
	node bench/queue.mjs --build bench/.work/ours $(if $(findstring --no-write,$(BENCH_ARGS)),,--write) $(if $(findstring --quick,$(BENCH_ARGS)),--n 1000) $(BENCH_QUEUE_ARGS)

## Time to ready of `make dev` on an unchanged checkout: median of 5 runs (bench/dev-ready.mjs).
bench-dev: node-tools
	node bench/dev-ready.mjs $(BENCH_DEV_ARGS)

WASM_FEATURES := $(addprefix --enable-,mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue reference-types exception-handling)

# The Worker's inputs (the emulator links the Worker crate too); editor droppings are left out.
WORKER_SRC := $(shell find src -type f ! -name '.*' ! -name '*~') Cargo.toml Cargo.lock
EMULATOR_SRC := $(WORKER_SRC) $(shell find emulator -type f ! -name '.*' ! -name '*~')
WORKER_OUT := build/index.js build/index_bg.wasm
## Providers built into the Worker (Cargo features, docs/development.md); empty means all of them:
##   make build PROVIDERS="clerk supabase"
PROVIDERS ?=
CARGO_FEATURES = $(if $(strip $(1)),--no-default-features --features "$(strip $(1))")
# Names the PROVIDERS of the last build/: another list is another (missing) file, so it rebuilds.
# No FORCE prerequisite, so `make -q build` still answers "up to date" when nothing changed.
PROVIDERS_STAMP := target/.providers-$(or $(subst $(eval) ,+,$(strip $(PROVIDERS))),all)
# wrangler dev starts a `make build` per file event: they queue on this lock, so the later ones
# find the first one's result and do nothing (no lock where flock(1) is missing, e.g. macOS).
BUILD_LOCK := $(if $(shell command -v flock 2>/dev/null),flock target/.build.lock,)

## Builds the Worker into build/ if any of its inputs changed since the last build (else nothing).
build: rust-tools node-tools
	@mkdir -p target
	@$(BUILD_LOCK) $(MAKE) --no-print-directory worker-artifacts

worker-artifacts: build/index_bg.wasm
	@:

# worker-build into $(1) with the Cargo feature arguments $(2). src/entry.js is the Worker's entry
# (two synchronous wasm calls per request, no async export on the fetch path: see its header).
# With a custom shim worker-build writes $(1)/worker/{shim.mjs,index.wasm}; they move to
# $(1)/index.js and $(1)/index_bg.wasm, the layout wrangler.toml, the tests and the benchmarks use.
# worker-build keeps the wasm names section; it is dropped (about 80 KB) without re-optimising.
define WORKER_BUILD
CUSTOM_SHIM=$(CURDIR)/src/entry.js worker-build --release --out-dir $(1) . $(2)
sed 's#"./index.wasm"#"./index_bg.wasm"#' $(1)/worker/shim.mjs > $(1)/index.js
@grep -q '"./index_bg.wasm"' $(1)/index.js || { echo "$(1)/index.js does not import ./index_bg.wasm" >&2; exit 1; }
@mv $(1)/worker/index.wasm $(1)/index_bg.wasm && rm -rf $(1)/worker
$(WASM_OPT_BIN) $(1)/index_bg.wasm -o $(1)/index_bg.wasm --strip-debug --strip-producers $(WASM_FEATURES)
endef

# One rule makes both files (no grouped targets: macOS ships make 3.81); a missing index.js forces it.
build/index_bg.wasm: $(WORKER_SRC) $(PROVIDERS_STAMP) $(if $(wildcard build/index.js),,FORCE)
	@mkdir -p target && touch target/.worker-build-start
	$(call WORKER_BUILD,build,$(call CARGO_FEATURES,$(PROVIDERS)))
	@# Dated at the build's start: a source saved while it ran is newer, so the next build takes it.
	@touch -r target/.worker-build-start $(WORKER_OUT)

$(PROVIDERS_STAMP):
	@mkdir -p $(@D)
	@rm -f target/.providers-*
	@touch $@

# The Worker with one provider only, for `make size`; build/ stays the every-provider build.
target/sizes/%/index_bg.wasm: $(WORKER_SRC)
	@mkdir -p $(@D)
	$(call WORKER_BUILD,$(@D),$(call CARGO_FEATURES,$*))

emulator: $(EMULATOR)

$(EMULATOR): $(EMULATOR_SRC)
	cargo build -p tim-emulator --release --locked
	@touch $@

FORCE:

# Queue mode's D1 tables (migrations/) in the local database `wrangler dev` uses (.wrangler/state),
# applied again only when a migration changed; nothing when wrangler.toml has no [[d1_databases]].
D1_DATABASES := $(shell awk -F'"' '/^\[\[/{d=0} /^\[\[d1_databases\]\]/{d=1} d && /^database_name *=/{print $$2}' wrangler.toml)
D1_STAMP := .wrangler/state/.d1-migrations-applied
d1-local: $(if $(D1_DATABASES),$(D1_STAMP))

$(D1_STAMP): $(wildcard migrations/*.sql)
	@for db in $(D1_DATABASES); do \
	  CI=1 node_modules/.bin/wrangler d1 migrations apply $$db --local </dev/null || exit 1; done
	@mkdir -p $(@D) && touch $@

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

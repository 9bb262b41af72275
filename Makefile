# Tablecard: the two commands a newcomer needs.
#   make run   build, migrate, seed the demo brand and serve http://127.0.0.1:3000
#   make test  every check and test: fmt, clippy, unit, database, HTTP, browser
# Both install whatever is missing first, and say nothing when nothing is.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.10
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml.
WASM_BINDGEN_VERSION := 0.2.130
# Building the tools without LTO takes a third of the time on small machines.
TOOL_BUILD_ENV := CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

SERVER := target/release/tablecard
RUN_ENV := LEPTOS_SITE_ROOT=target/site

.PHONY: help run test deps rust-tools node-tools chromium build check test-rust test-e2e bench bench-insight crash-test fuzz

help:
	@echo "make run    build and serve the demo portal on http://127.0.0.1:3000"
	@echo "make test   run every check and test"
	@echo "make bench  measure the phone, the server, growth and scale-out (not part of make test)"
	@echo "make crash-test  SIGKILL the server 25 times under mixed traffic, SQLite and PostgreSQL"
	@echo "make fuzz   fuzz every input parser (FUZZ_SECONDS each) and the POS API (schemathesis)"

## ---- what both commands need ------------------------------------------------

deps: rust-tools node-tools

rust-tools:
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
	  || { echo "Installing the wasm32-unknown-unknown target"; rustup target add wasm32-unknown-unknown; }
	@cargo leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)$$" \
	  || { echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 10 minutes, once)"; \
	       $(TOOL_BUILD_ENV) cargo install --quiet cargo-leptos@$(CARGO_LEPTOS_VERSION) --locked --features no_downloads; }
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)" \
	  || { echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	       $(TOOL_BUILD_ENV) cargo install --quiet wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); }

# npm packages of end2end/: Playwright, axe-core and binaryen's wasm-opt.
node-tools: end2end/node_modules/.package-lock.json

end2end/node_modules/.package-lock.json: end2end/package-lock.json end2end/package.json
	@echo "Installing the npm packages of end2end/"
	@cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

chromium:
	@command -v chromium >/dev/null \
	  || { echo "Installing Debian's Chromium for the browser tests"; \
	       apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## ---- make run -----------------------------------------------------------------

build: deps
	@cargo leptos build --release --precompress

run: build
	@$(RUN_ENV) $(SERVER) demo
	@echo "  Serving on http://127.0.0.1:3000 (Ctrl-C stops it)"
	@$(RUN_ENV) exec $(SERVER) serve

## ---- make test ----------------------------------------------------------------

check: deps
	cargo fmt --all --check
	cargo clippy --workspace --exclude frontend --all-targets --features app/ssr --quiet -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown --quiet -- -D warnings

test-rust: deps
	cargo test --workspace --exclude frontend --features app/ssr

test-e2e: build chromium
	cd end2end && npx playwright test

## ---- benchmarks (not part of make test) ----------------------------------------

# The phone, the server on SQLite and PostgreSQL, growth to a million members,
# memory and scale-out, in one run: bench/results/latest.{json,md}. PostgreSQL
# is TABLECARD_BENCH_POSTGRES_URL, else TABLECARD_TEST_POSTGRES_URL, else a
# local one that scripts/postgres-up installs and starts.
bench: deps chromium
	@start=$$(date +%s); \
	  cargo leptos build --release --precompress; \
	  cargo build --release -q -p bench; \
	  pg=$${TABLECARD_BENCH_POSTGRES_URL:-$${TABLECARD_TEST_POSTGRES_URL:-$$(scripts/postgres-up)}}; \
	  TABLECARD_BENCH_POSTGRES_URL=$$pg target/release/tablecard-bench; \
	  echo "make bench took $$(( $$(date +%s) - start )) s, builds included"

# The long crash test: the server is SIGKILLed 25 times (CRASH_ROUNDS) under
# mixed traffic on SQLite and on PostgreSQL (TABLECARD_TEST_POSTGRES_URL, else
# the local one scripts/postgres-up starts). make test runs 3 of each.
CRASH_ROUNDS ?= 25
crash-test: deps
	@pg=$${TABLECARD_TEST_POSTGRES_URL:-$$(scripts/postgres-up)}; \
	  TABLECARD_TEST_POSTGRES_URL=$$pg TABLECARD_CRASH_ROUNDS=$(CRASH_ROUNDS) \
	  cargo test --features app/ssr -p server --test suite -- crash:: --nocapture

# Coverage-guided fuzzing of every parser of outside input (fuzz/, cargo-fuzz
# on stable Rust), FUZZ_SECONDS each (default 60), then schemathesis against
# the POS API of a fresh demo server. Not part of make test.
fuzz: build
	@cargo fuzz --version >/dev/null 2>&1 \
	  || { echo "Installing cargo-fuzz (about a minute, once)"; \
	       $(TOOL_BUILD_ENV) cargo install --quiet cargo-fuzz --locked; }
	@scripts/fuzz

# RFM segments and churn on 100,000 members and 2,000,000 purchases (SQLite).
bench-insight:
	cargo run --release -q -p loyalty --example insight_bench

test: check test-rust test-e2e
	@if [ -z "$${TABLECARD_TEST_POSTGRES_URL:-}" ]; then \
	  echo "Database tests ran on SQLite only: set TABLECARD_TEST_POSTGRES_URL to run them on PostgreSQL too."; \
	fi

# Tablecard: the two commands a newcomer needs.
#   make run   build, migrate, seed the demo brand and serve http://127.0.0.1:3000
#   make test  every check and test: fmt, clippy, unit, database, HTTP, browser
# Both install whatever is missing first, and say nothing when nothing is.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# Tools this project installs with cargo (cargo-fuzz, for make fuzz) build
# without LTO: a third of the time on small machines.
TOOL_BUILD_ENV := CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

SERVER := target/release/tablecard
RUN_ENV := LEPTOS_SITE_ROOT=target/site

# Clippy rides on the builds instead of checking everything a second time:
# clippy-driver is rustc with clippy's lints, and cargo runs it for the
# workspace's own crates only, exactly as `cargo clippy` does (same
# variables), so one compile both lints and builds what the tests run.
LINT_ENV := RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
TEST_CRATES := --workspace --exclude frontend --features app/ssr

# Tests that need PostgreSQL are #[ignore]d by name unless it is configured;
# the one that mounts a tmpfs needs root.
PG_URL := $(TABLECARD_TEST_POSTGRES_URL)
TEST_FLAGS := $(if $(PG_URL),--include-ignored $(if $(filter 0,$(shell id -u)),,--skip a_full_disk))

.PHONY: help run test deps rust-tools node-tools chromium proxies site build check test-rust test-e2e bench bench-insight crash-test fuzz sms-fake

help:
	@echo "make run    build and serve the demo portal on http://127.0.0.1:3000"
	@echo "make test   run every check and test"
	@echo "make bench  measure the phone, the server, growth and scale-out (not part of make test)"
	@echo "make crash-test  SIGKILL the server 25 times under mixed traffic, SQLite and PostgreSQL"
	@echo "make fuzz   fuzz every input parser (FUZZ_SECONDS each) and the POS API (schemathesis)"
	@echo "make sms-fake PROVIDER=aliyun|tencent  a local fake SMS provider that checks signatures (see README)"

## ---- what both commands need ------------------------------------------------

deps: rust-tools node-tools

rust-tools:
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
	  || { echo "Installing the wasm32-unknown-unknown target"; rustup target add wasm32-unknown-unknown; }

# npm packages of end2end/: Playwright, axe-core, binaryen's wasm-opt and
# esbuild (the site's minifier).
node-tools: end2end/node_modules/.package-lock.json

end2end/node_modules/.package-lock.json: end2end/package-lock.json end2end/package.json
	@echo "Installing the npm packages of end2end/"
	@cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

chromium:
	@command -v chromium >/dev/null \
	  || { echo "Installing Debian's Chromium for the browser tests"; \
	       apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The reverse proxies deploy/ ships, run by the proxy tests in front of the
# server (and openssl, which makes their test certificates). RUNLEVEL=1
# keeps the packages from starting their own services.
proxies:
	@test -x /usr/sbin/nginx && test -x /usr/bin/caddy && test -x /usr/bin/openssl \
	  || { echo "Installing nginx, Caddy and openssl for the reverse-proxy tests"; \
	       apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive \
	         apt-get install -y -qq nginx caddy openssl >/dev/null; }

## ---- make run -----------------------------------------------------------------

# The browser's half: WebAssembly, its JavaScript, the stylesheet and the
# static files, hashed and precompressed into target/site (xtask/). Built
# linted, exactly as make test builds it, so neither command rebuilds what
# the other built.
site: deps
	@$(LINT_ENV) cargo xtask site

build: site
	@cargo build --release --quiet --package server --bin tablecard

run: build
	@$(RUN_ENV) $(SERVER) demo
	@echo "  Serving on http://127.0.0.1:3000 (Ctrl-C stops it)"
	@$(RUN_ENV) exec $(SERVER) serve

# A local fake of Alibaba Cloud or Tencent Cloud SMS on 127.0.0.1:9100, to
# try real delivery without an account (the README shows how).
PROVIDER ?= aliyun
sms-fake:
	@cargo build --release --quiet --package server --bin tablecard
	@exec $(SERVER) sms-fake $(PROVIDER)

## ---- make test ----------------------------------------------------------------

# Formatting, then one lint-and-build of everything the tests run, then the
# site with the WebAssembly linted on its way.
check: deps
	cargo fmt --all --check
	$(LINT_ENV) cargo test $(TEST_CRATES) --no-run --quiet
	$(LINT_ENV) cargo xtask site

test-rust: check proxies
	@if [ -n "$${CI:-}" ] && [ -z "$(PG_URL)" ]; then \
	  echo "CI needs TABLECARD_TEST_POSTGRES_URL: the PostgreSQL tests are required there"; exit 1; fi
	$(LINT_ENV) cargo test $(TEST_CRATES) -- $(TEST_FLAGS)
	@if [ -n "$(PG_URL)" ] && [ "$$(id -u)" != 0 ]; then \
	  echo "Skipped outage::a_full_disk_is_a_503_and_freeing_it_needs_nobody: it mounts a tmpfs, which needs root."; \
	fi

# The browser tests drive the debug server the Rust tests built, over the
# release site: the WebAssembly a phone gets, without a second server build.
test-e2e: check chromium
	cd end2end && TABLECARD_BIN=$(CURDIR)/target/debug/tablecard npx playwright test

## ---- benchmarks (not part of make test) ----------------------------------------

# The phone, the server on SQLite and PostgreSQL, growth to a million members,
# memory and scale-out, in one run: bench/results/latest.{json,md}. PostgreSQL
# is TABLECARD_BENCH_POSTGRES_URL, else TABLECARD_TEST_POSTGRES_URL, else a
# local one that scripts/postgres-up installs and starts.
bench: deps chromium
	@start=$$(date +%s); \
	  $(LINT_ENV) cargo xtask site; \
	  cargo build --release --quiet --package server --bin tablecard; \
	  cargo build --release --quiet --package bench; \
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
	  cargo test --features app/ssr -p server --test suite -- crash:: --include-ignored --nocapture

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
	@if [ -z "$(PG_URL)" ]; then \
	  echo "The PostgreSQL tests were skipped (listed as ignored above): set TABLECARD_TEST_POSTGRES_URL to run them."; \
	fi

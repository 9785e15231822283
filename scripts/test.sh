#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests
# (including the differential tests against sysdig). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

export TZ=UTC
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

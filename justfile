# Recipes a contributor types. Each installs what it needs (scripts/setup.sh).

export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") / ".cache/cairn-target")

# Format check, clippy, and every unit and end-to-end test.
test *ARGS:
    scripts/test.sh {{ARGS}}

# Start a local cluster (default 3 brokers) in ./.cairn-dev.
dev *ARGS:
    scripts/dev.sh {{ARGS}}

# Formatting and lints only.
lint:
    scripts/setup.sh
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# Data written by the cairn of OLD_REV reads back unchanged with this checkout.
compat OLD_REV:
    scripts/check-data-compat.sh {{OLD_REV}}

# Several chaos runs with every fault: WORKLOAD (plain, idempotent, group, txn), RUNS, DURATION, FIRST_SEED.
chaos *ARGS:
    scripts/chaos-runs.sh {{ARGS}}

# kafka-python's own integration suite against a `cairn dev` cluster (ports 9092-9094).
conformance *ARGS:
    scripts/kafka-python-suite.sh {{ARGS}}

# Benchmarks (release build for this CPU): all, produce, storage, jetstream, scale, groups, idempotent, txn or failover.
bench *ARGS:
    scripts/bench.sh {{ARGS}}

# (A narrower `cargo build --bin cairn` would unify features differently and
# compile RocksDB again.)
# Build the cairn binary and every test, reusing the test build's RocksDB.
build:
    scripts/setup.sh
    cargo build --workspace --all-targets

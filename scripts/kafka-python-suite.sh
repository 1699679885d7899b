#!/usr/bin/env bash
# kafka-python's own integration tests (test/integration in its sdist from
# PyPI) against a 3-broker Cairn started by `cairn dev`: an independent check
# that a client's own expectations of a Kafka broker hold. Prints pytest's
# per-test results and summary; exits with pytest's status.
#
#   scripts/kafka-python-suite.sh [PYTEST_ARGS...]     e.g. -k consumer
#
# The sdist lacks test/__init__.py and test/service.py; this script writes a
# stand-in for them that points the fixtures at the running cluster
# (KAFKA_URI) instead of spawning Kafka. KAFKA_VERSION tells the suite which
# broker release to expect (default 4.0, the release whose API version
# maxima Cairn serves). The cluster uses `cairn dev`'s fixed ports
# (9092-9094), so nothing else may listen there.
set -euo pipefail
cd "$(dirname "$0")/.."
version="3.0.12"
cache="$HOME/.cache/cairn-conformance"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
scripts/setup.sh
python3 -m pip install --quiet "kafka-python==$version" pytest pytest-mock pytest-timeout lz4 python-snappy
cargo build --locked --workspace --all-targets

src="$cache/kafka_python-$version"
if [ ! -d "$src/test/integration" ]; then
  mkdir -p "$cache"
  python3 -m pip download --quiet --no-binary :all: --no-deps -d "$cache" "kafka-python==$version"
  tar -xzf "$cache/kafka_python-$version.tar.gz" -C "$cache"
fi
touch "$src/test/__init__.py"
cat > "$src/test/service.py" <<'PY'
"""Written by Cairn's scripts/kafka-python-suite.sh: the sdist lacks this
module. The fixtures use ExternalService for a broker started elsewhere
(KAFKA_URI); spawning brokers is not supported here."""


class ExternalService:
    def __init__(self, host, port):
        self.host, self.port = host, port

    def start(self):
        pass

    def stop(self):
        pass

    def dump_logs(self):
        pass

    def wait_for(self, pattern, timeout=30):
        return True


class SpawnedService(ExternalService):
    def __init__(self, args=None, env=None):
        raise RuntimeError("only an external cluster is supported: set KAFKA_URI")
PY
export KAFKA_VERSION="${KAFKA_VERSION:-4.0}"
# The fixtures look for a Kafka install; an empty one will do.
mkdir -p "$src/servers/$KAFKA_VERSION/kafka-bin" "$src/servers/$KAFKA_VERSION/resources"

data="$(mktemp -d)"
# The suite's groups ask for 3 s sessions (below the 6 s minimum Kafka and
# Cairn default to) and expect no initial rebalance delay, as the broker
# config kafka-python tests with has it.
CAIRN_GROUP_MIN_SESSION_TIMEOUT_MS=1000 CAIRN_GROUP_INITIAL_REBALANCE_DELAY_MS=0 \
  "$CARGO_TARGET_DIR/debug/cairn" dev --data-dir "$data" > "$data/dev.log" 2>&1 &
dev=$!
trap 'kill $dev 2>/dev/null; wait $dev 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 60); do
  if "$CARGO_TARGET_DIR/debug/cairn" cluster status > /dev/null 2>&1; then break; fi
  sleep 1
done

cd "$src"
status=0
KAFKA_URI=tcp://127.0.0.1:9092 python3 -m pytest test/integration -q -rA \
  -p no:cacheprovider -W ignore --timeout 60 --timeout-method=signal "$@" || status=$?
exit $status

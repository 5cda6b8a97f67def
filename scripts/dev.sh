#!/usr/bin/env bash
# README command 1: install what is missing for building (not the test
# toolchain), build the worker, and run the demo: embedded Kafka mock
# cluster + memory backends + sample actions. stdout shows each outcome
# (executed, deduplicated, rejected) and, after Ctrl-C, a summary; logs go to
# stderr at warn (scripts/dev.sh --log-level info shows them all).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --demo
scripts/build.sh release acteon-worker
if [ "${1:-}" = --log-level ] && [ $# -ge 2 ]; then
    exec build/acteon-worker --log-level "$2" dev "${@:3}"
fi
exec build/acteon-worker dev "$@"

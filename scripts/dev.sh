#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the demo:
# embedded Kafka mock cluster + memory backends + sample actions, printing
# executed, deduplicated and rejected outcomes. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/acteon-worker dev "$@"

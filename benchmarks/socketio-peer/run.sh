#!/usr/bin/env bash
# Start the Node.js Socket.IO peer (see README.md). Installs the pinned dependencies from
# package-lock.json on first use, then replaces itself with the node process, so signals
# (SIGTERM/SIGINT) and the exit status are the server's.
#
#   benchmarks/socketio-peer/run.sh [--log] [--broadcast]     env: PORT, HOST, LOG=1, MODE=broadcast
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ]; then
  # --ignore-scripts: nothing in the tree needs an install script; never run one.
  if ! npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >npm-ci.log 2>&1; then
    cat npm-ci.log >&2
    echo "run.sh: npm ci failed (log above)" >&2
    rm -rf node_modules
    exit 1
  fi
  rm -f npm-ci.log
fi
exec node server.js "$@"

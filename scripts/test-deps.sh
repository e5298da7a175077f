#!/usr/bin/env bash
# Installs what authflow's tests need beyond Go modules, from Debian's packages:
#   redis-server  the shared session store tests (they use 127.0.0.1:6379 when a Redis runs
#                 there, else start redis-server on a free port)
# Run as root or with sudo available. Safe to run again: installs only what is missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null || need+=(redis-server)

if [ ${#need[@]} -eq 0 ]; then
  echo "test-deps: all present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "test-deps: need root to install: ${need[*]}" >&2; exit 1
  fi
fi
echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"

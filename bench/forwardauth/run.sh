#!/usr/bin/env bash
# Runs the forward-auth load benchmark (README, "Forward-auth load benchmark"); every argument is
# passed on to it, e.g. ./bench/forwardauth/run.sh -rounds 4 -duration 5s.
# Installs what it needs from Debian's packages when missing: wrk (the load generator) and
# redis-server (the Redis target starts its own on a free port). Run from anywhere; it works in
# the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"

# cleanup removes what this script made: the benchmark's binary, and a policy-rc.d it wrote.
bin="$(mktemp -d)"
made_policy=""
sudo=""
cleanup() {
  rm -rf "$bin"
  if [ -n "$made_policy" ]; then $sudo rm -f "$made_policy"; fi
}
trap cleanup EXIT

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v redis-server >/dev/null || need+=(redis-server)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "bench: need root to install: ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  # Debian's postinst would start redis-server on 6379; a policy-rc.d answering 101 stops
  # that (as scripts/test-deps.sh does). One that is already there is left alone.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy="$policy"
  fi
  echo "bench: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

go build -o "$bin/forwardauth" ./bench/forwardauth
"$bin/forwardauth" "$@"

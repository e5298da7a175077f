#!/usr/bin/env bash
# Installs what authflow's tests need beyond Go modules, from Debian's packages:
#   redis-server  the shared session store tests (they use 127.0.0.1:6379 when a Redis runs
#                 there, else start redis-server on a free port)
#   chromium      the browser end-to-end test (e2e/browser_test.go drives it headless)
#   nginx         the forward-auth end-to-end test (e2e/nginx_test.go runs its own nginx, with
#                 its own config, on a free port; the system service is not needed)
# Run as root or with sudo available. Safe to run again: installs only what is missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
# /usr/sbin is not on every user's PATH.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)

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

# Debian's postinst scripts start the services they install (nginx on port 80, redis-server on
# 6379). The tests start their own, and in a container without an init system the start fails
# and fails the install; a policy-rc.d answering 101 ("action forbidden") tells invoke-rc.d and
# deb-systemd-invoke not to start anything. One that is already there is left alone.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# test-deps.sh: no service starts during this install\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi

echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"

#!/usr/bin/env bash
# Installs the services the tests start themselves: redis-server (Debian package), for the
# Redis backend of the feedback store (test/helpers/redisServer.ts spawns it on 127.0.0.1).
# Idempotent and quiet: does nothing when redis-server is already on the PATH.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup-services: redis-server is missing and this user cannot run apt-get (not root, no sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "setup-services: installing redis-server (apt-get)" >&2
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup-services: redis-server is still not on the PATH after apt-get install" >&2
  exit 1
fi

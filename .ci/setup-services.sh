#!/usr/bin/env bash
# Installs the system tools the tests start themselves (Debian packages): redis-server, for the
# Redis backend of the feedback store (test/helpers/redisServer.ts spawns it on 127.0.0.1),
# util-linux's `script` (bsdutils), which runs a command on a pseudo-terminal, and chromium, in
# which the staff report is opened headless (test/browser/, driven by puppeteer-core).
# Idempotent and quiet: does nothing when all are already installed.
set -euo pipefail

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v script >/dev/null 2>&1 || packages+=(bsdutils)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || packages+=(chromium)
if [ "${#packages[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup-services: ${packages[*]} missing and this user cannot run apt-get (not root, no sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "setup-services: installing ${packages[*]} (apt-get)" >&2
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

for tool in redis-server script "${CHROMIUM_PATH:-/usr/bin/chromium}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup-services: $tool is still not on the PATH after apt-get install" >&2
    exit 1
  fi
done

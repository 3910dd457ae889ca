#!/bin/sh
# Installs everything Truce needs on a machine with Node 20 and npm.
set -eu
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  npm install -g pnpm@12
fi
# better-sqlite3 is a native addon. Where its prebuilt binary cannot be downloaded, it is
# built from source, which needs Node's headers: use the machine's own when it has them.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  npm_config_nodedir=/usr
  export npm_config_nodedir
fi
pnpm install --frozen-lockfile

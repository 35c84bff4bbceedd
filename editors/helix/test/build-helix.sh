#!/usr/bin/env bash
# Builds Helix 25.07.1 from the source kept in ../shared/helix/ (Helix is on no registry these
# machines reach) into the editor cache, once; later calls find the binary and only print its path.
#
#   editors/helix/test/build-helix.sh        # prints the hx binary's path on stdout
#
# env: GLOSS_EDITOR_CACHE  where editors are installed (default $GLOSS_CACHE_DIR/editors, else
#                          ~/.cache/gloss/editors, as for Neovim and code-server)
#      HELIX_SOURCE        the source tarball (default ../shared/helix/helix-25.07.1.tar.gz from the clone,
#                          else the workplace's /work/shared/helix, for a clone made elsewhere)
# The build takes about 15 minutes on 2 cores; its log is $GLOSS_EDITOR_CACHE/helix-25.07.1-build.log.
# The runtime folder is next to the binary's crate: $GLOSS_EDITOR_CACHE/helix-25.07.1/runtime.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
VERSION=25.07.1
CACHE=${GLOSS_EDITOR_CACHE:-${GLOSS_CACHE_DIR:-$HOME/.cache/gloss}/editors}
DIR=$CACHE/helix-$VERSION
HX=$DIR/target/release/hx
SOURCE=${HELIX_SOURCE:-}
if [ -z "$SOURCE" ]; then
  for candidate in "$ROOT/../shared/helix" /work/shared/helix; do
    SOURCE=$candidate/helix-$VERSION.tar.gz
    [ -f "$SOURCE" ] && break
  done
fi
LOG=$CACHE/helix-$VERSION-build.log

if [ -x "$HX" ] && "$HX" --version >/dev/null 2>&1; then
  echo "$HX"
  exit 0
fi
[ -f "$SOURCE" ] || { echo "build-helix.sh: no Helix source at $SOURCE (set HELIX_SOURCE)" >&2; exit 2; }

mkdir -p "$CACHE"
# Unpacked beside the final folder and renamed at the end, so an interrupted build never leaves a
# folder that looks finished; cargo's own target folder inside it is kept between attempts.
PARTIAL=$DIR.partial
if [ ! -d "$PARTIAL" ]; then
  rm -rf "$PARTIAL.unpack" && mkdir -p "$PARTIAL.unpack"
  tar xzf "$SOURCE" -C "$PARTIAL.unpack"
  mv "$PARTIAL.unpack/helix-$VERSION" "$PARTIAL" && rmdir "$PARTIAL.unpack"
fi

echo "building Helix $VERSION in $PARTIAL (about 15 minutes on 2 cores; log: $LOG)" >&2
(
  cd "$PARTIAL"
  # A target folder set for gloss (CI sets one) must not receive Helix's build.
  unset CARGO_TARGET_DIR
  # rust-toolchain.toml pins 1.82.0, which cannot be downloaded here: the installed stable builds it.
  # Grammars are fetched from git by default; the tests need none (the LSP works without them).
  RUSTUP_TOOLCHAIN=stable HELIX_DISABLE_AUTO_GRAMMAR_BUILD=1 \
    cargo build --release --locked -p helix-term
) >"$LOG" 2>&1 || { tail -30 "$LOG" >&2; echo "build-helix.sh: cargo build failed (log: $LOG)" >&2; exit 1; }

# Only the binary is needed from the target folder; the rest is most of the 700 MB.
rm -rf "$PARTIAL/target/release/"{build,deps,.fingerprint,incremental,examples}
# The binary records no absolute paths (the runtime is found through HELIX_RUNTIME), so the
# finished folder can be renamed into place.
rm -rf "$DIR" && mv "$PARTIAL" "$DIR"
"$HX" --version >&2
echo "$HX"

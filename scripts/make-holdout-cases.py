#!/usr/bin/env python3
# Builds tests/fixtures/holdout-cases.jsonl: a held-out evaluation set for `gloss eval`, in the
# same format as tests/fixtures/dev-cases.jsonl. 20 Python functions from the CPython standard
# library installed here and 20 Rust functions from crate sources in the cargo registry, none from a
# file (Python) or crate (Rust) the dev set uses and none sharing a name with a dev case. The
# authors' doc text is cut out of each function and kept as its reference, exactly as the dev set
# does it (see `reference_from_doc` and the `--check-dev` flag, which re-derives the dev set's
# Python and Rust references with the same code).
#
# HELD OUT: this set must NEVER be used for tuning prompts, shaping rules, model choice or any other
# decision. Tune on dev-cases.jsonl only; run this set to report figures once a change is final.
#
# Deterministic: the modules, crates (exact versions) and selection rules are fixed below; rerunning
# against the same CPython (3.11.7) and the same registry sources produces the same file.
#
# Usage: scripts/make-holdout-cases.py [--out PATH] [--check-dev] [--stdlib DIR] [--registry DIR]
# Standalone, Python 3 standard library only.

import argparse
import ast
import glob
import json
import os
import re
import sys
import sysconfig
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV = os.path.join(ROOT, "tests", "fixtures", "dev-cases.jsonl")
OUT = os.path.join(ROOT, "tests", "fixtures", "holdout-cases.jsonl")

EXPECTED_PYTHON = "3.11.7"
PER_LANG = 20
PER_SOURCE = 1  # functions per module / crate (the brief allows up to 2; one gives more variety)
MIN_LINES, MAX_LINES = 5, 40
MIN_REF_WORDS = 5
MAX_SENTENCES = 2  # the dev set keeps the first paragraph's first two sentences

# Tried in this order; a module that yields no qualifying function is passed over. Paths are
# relative to the stdlib directory (cpython/Lib).
PY_MODULES = [
    "textwrap.py", "difflib.py", "fnmatch.py", "heapq.py", "bisect.py", "calendar.py",
    "ipaddress.py", "statistics.py", "html/__init__.py", "colorsys.py", "string.py",
    "posixpath.py", "urllib/parse.py", "gettext.py", "glob.py", "zipfile.py", "shlex.py",
    "fractions.py", "pprint.py", "mimetypes.py", "quopri.py", "tokenize.py", "configparser.py",
    "email/utils.py", "netrc.py",
]
# Exact crate directories in ~/.cargo/registry/src/<index>/, tried in this order.
RUST_CRATES = [
    "smallvec-1.16.6", "bytes-1.12.2", "memchr-2.8.3", "itoa-1.0.19", "url-2.5.8",
    "percent-encoding-2.3.2", "unicode-width-0.2.3", "indexmap-2.14.2", "hashbrown-0.16.1",
    "tokio-util-0.7.20", "anyhow-1.0.105", "log-0.4.35", "fastrand-2.5.0", "once_cell-1.21.4",
    "tree-sitter-0.25.10", "aho-corasick-1.1.5", "arrayvec-0.7.8", "bstr-1.14.0",
    "globset-0.4.22", "strsim-0.11.1", "httparse-1.10.1", "tinyvec-1.13.3", "slab-0.4.12",
    "humantime-2.4.0", "unicase-2.10.0", "shlex-2.0.1", "hex-0.4.3", "pathdiff-0.2.3",
]

BAD_REF_START = re.compile(
    r"^(see |same as |alias |shorthand |deprecated|equivalent to |note:|todo|fixme|safety|panics|"
    r"called |used |helper|internal|#|```|>>>)", re.I
)


# ---------------------------------------------------------------------------------------------
# Doc text -> reference (shared by both languages, and checked against the dev set)


def reference_from_doc(doc):
    """First paragraph (to the first blank line), whitespace collapsed, first two sentences."""
    para = []
    for line in doc.strip("\n").split("\n"):
        if not line.strip():
            if para:
                break
            continue
        para.append(line.strip())
    text = " ".join(" ".join(para).split())
    sentences = re.split(r"(?<=[.!?])\s+", text)
    return " ".join(sentences[:MAX_SENTENCES])


def ref_ok(ref, name):
    if len(ref.split()) < MIN_REF_WORDS:
        return False
    if BAD_REF_START.match(ref) or ref.startswith(name + "("):
        return False
    if ">>>" in ref or "```" in ref:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Python


def py_functions(tree):
    """Module-level functions (also under module-level if/try) and methods of top-level classes."""

    def walk(body, in_class):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node
            elif isinstance(node, ast.ClassDef) and not in_class:
                yield from walk(node.body, True)
            elif isinstance(node, (ast.If, ast.Try)) and not in_class:
                yield from walk(node.body, False)
                yield from walk(node.orelse, False)

    yield from walk(tree.body, False)


def py_case(src_lines, node):
    """(code, reference) for one function node, or None when it does not qualify."""
    if node.decorator_list or not node.body:
        return None
    first = node.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return None
    if len(node.body) < 2:  # the docstring was the only statement
        return None
    if first.lineno == node.lineno:  # one-line def with the docstring on it
        return None
    # The docstring must occupy whole lines.
    if src_lines[first.lineno - 1][: first.col_offset].strip():
        return None
    if src_lines[first.end_lineno - 1][first.end_col_offset:].strip():
        return None
    lines = src_lines[node.lineno - 1: node.end_lineno]
    d0, d1 = first.lineno - node.lineno, first.end_lineno - node.lineno
    code_lines = lines[:d0] + lines[d1 + 1:]
    code = "\n".join(l.rstrip("\n").rstrip() for l in code_lines)
    ref = reference_from_doc(ast.get_docstring(node, clean=True) or "")
    return code, ref


def python_cases(stdlib, modules, exclude_files, exclude_names):
    cases = []
    for mod in modules:
        if len(cases) >= PER_LANG:
            break
        rel = "Lib/" + mod
        # skip the dev set's files, and whole packages it draws from (json/ for json/encoder.py)
        if rel in exclude_files or os.path.dirname(rel) in {
                os.path.dirname(f) for f in exclude_files if os.path.dirname(f) != "Lib"}:
            continue
        path = os.path.join(stdlib, mod)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        src_lines = text.split("\n")
        tree = ast.parse(text)
        found = []
        for node in py_functions(tree):
            if node.name in exclude_names:
                continue
            got = py_case(src_lines, node)
            if got is None:
                continue
            code, ref = got
            n = len(code.split("\n"))
            if not (MIN_LINES <= n <= MAX_LINES) or not ref_ok(ref, node.name):
                continue
            # public functions first, then by line; the sort is stable and deterministic
            found.append((node.name.startswith("_"), node.lineno, node.name, code, ref))
        found.sort(key=lambda t: (t[0], t[1]))
        for _, line, name, code, ref in found[:PER_SOURCE]:
            exclude_names.add(name)
            cases.append({
                "lang": "python", "origin": f"cpython/{rel}:{line}", "name": name,
                "code": code, "reference": ref,
            })
    return cases[:PER_LANG]


# ---------------------------------------------------------------------------------------------
# Rust

FN_RE = re.compile(
    r"^(?P<indent>\s*)(?:pub(?:\s*\([^)]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?"
    r"(?P<unsafe>unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
)


def rust_body_end(text, start):
    """Index just past the fn's closing brace, scanning from `start` (the fn keyword's line), or
    None for a bodiless declaration. Skips comments, strings, raw strings, chars and lifetimes."""
    i, n, depth, opened = start, len(text), 0, False
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            d, i = 1, i + 2
            while i < n and d:
                if text.startswith("/*", i):
                    d, i = d + 1, i + 2
                elif text.startswith("*/", i):
                    d, i = d - 1, i + 2
                else:
                    i += 1
            continue
        m = re.match(r'b?r(#*)"', text[i:i + 260]) if c in "br" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) else None
        if m:
            close = '"' + m.group(1)
            j = text.find(close, i + m.end())
            i = n if j < 0 else j + len(close)
            continue
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == "'":
            m = re.match(r"'(?:\\(?:x[0-9A-Fa-f]{2}|u\{[0-9A-Fa-f]{1,6}\}|.)|[^\\'\n])'", text[i:i + 16])
            i += m.end() if m else 1  # a char literal, or a lifetime's quote
            continue
        if c == "{":
            depth, opened = depth + 1, True
        elif c == "}":
            depth -= 1
            if opened and depth == 0:
                return i + 1
        elif c == ";" and not opened and depth == 0:
            return None
        i += 1
    return None


def rust_doc_above(lines, idx):
    """Doc lines (`///`) above lines[idx], looking past attributes and plain comments; None when a
    `#[doc ...]` attribute is among them."""
    doc = []
    j = idx - 1
    while j >= 0:
        s = lines[j].strip()
        if s.startswith("///") and not s.startswith("////"):
            t = s[3:]
            doc.append(t[1:] if t.startswith(" ") else t)
        elif s.startswith("#[doc") or s.startswith("#![doc"):
            return None
        elif s.startswith("#[") or (s.startswith("//") and not s.startswith("//!")):
            pass
        else:
            break
        j -= 1
    doc.reverse()
    return "\n".join(doc)


def rust_cases(registry, crates, exclude_crates, exclude_names):
    cases = []
    for crate in crates:
        if len(cases) >= PER_LANG:
            break
        base = re.sub(r"-\d[^-]*$", "", crate)
        if base in exclude_crates:
            continue
        root = os.path.join(registry, crate)
        files = sorted(
            os.path.relpath(p, root)
            for p in glob.glob(os.path.join(root, "src", "**", "*.rs"), recursive=True)
        )
        found = []
        for rel in files:
            # no tests, no per-architecture (cfg/intrinsics) code, no generated tables
            if re.search(r"(^|/)(tests?|benches|examples|arch|gen|generated)(/|\.rs$)", rel):
                continue
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                text = f.read()
            lines = text.split("\n")
            offsets = [0]
            for l in lines:
                offsets.append(offsets[-1] + len(l) + 1)
            for idx, line in enumerate(lines):
                m = FN_RE.match(line)
                if not m or m.group("unsafe"):
                    continue
                name = m.group("name")
                if name in exclude_names or name.startswith("test"):
                    continue
                doc = rust_doc_above(lines, idx)
                if not doc or not doc.strip():
                    continue
                end = rust_body_end(text, offsets[idx])
                if end is None:
                    continue
                code = text[offsets[idx]:end]
                code_lines = code.split("\n")
                if not (MIN_LINES <= len(code_lines) <= MAX_LINES):
                    continue
                body = code[code.find("{") + 1: code.rfind("}")].split("\n")
                if sum(1 for l in body if l.strip() and not l.strip().startswith("//")) < 2:
                    continue  # a one-expression body: too trivial to explain
                if not re.search(r";|\b(if|match|for|while|loop)\b|\.\w+\(", "\n".join(body)):
                    continue  # only builds a value (a bare struct literal): too trivial
                if "unsafe" in code or "$" in code or "asm!" in code:
                    continue  # unsafe / intrinsics-heavy, or inside a macro_rules! body
                if any(l.strip().startswith("#[") for l in lines[max(0, idx - 8):idx]
                       if "test" in l):
                    continue
                ref = reference_from_doc(doc)
                if not ref_ok(ref, name):
                    continue
                found.append((rel, idx + 1, name, code, ref))
        # by path and line (the files are already sorted)
        for rel, line, name, code, ref in found[:PER_SOURCE]:
            exclude_names.add(name)
            cases.append({
                "lang": "rust", "origin": f"{crate}/{rel}:{line}", "name": name,
                "code": code, "reference": ref,
            })
    return cases[:PER_LANG]


# ---------------------------------------------------------------------------------------------


def braces_balanced(code):
    return rust_body_end(code, 0) == len(code.rstrip())


def check_dev(dev, stdlib, registry):
    """Re-derive the dev set's Python and Rust references from the local sources."""
    ok = bad = 0
    for d in dev:
        if d["lang"] not in ("python", "rust"):
            continue
        path, _, line = d["origin"].rpartition(":")
        line = int(line)
        if d["lang"] == "python":
            full = os.path.join(stdlib, path.split("/", 2)[2])
            text = open(full, encoding="utf-8").read()
            nodes = [x for x in ast.walk(ast.parse(text))
                     if isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef)) and x.lineno == line]
            got = py_case(text.split("\n"), nodes[0]) if nodes else None
        elif d["lang"] == "rust":
            full = os.path.join(registry, path)
            text = open(full, encoding="utf-8").read()
            lines = text.split("\n")
            off = sum(len(l) + 1 for l in lines[: line - 1])
            end = rust_body_end(text, off)
            got = (text[off:end], reference_from_doc(rust_doc_above(lines, line - 1) or ""))
        else:
            continue
        same = got is not None and got == (d["code"], d["reference"])
        ok, bad = ok + same, bad + (not same)
        if not same:
            print(f"  dev mismatch {d['id']} {d['origin']}")
            if got:
                if got[1] != d["reference"]:
                    print(f"    ref ours: {got[1]!r}\n    ref dev:  {d['reference']!r}")
                if got[0] != d["code"]:
                    print("    code differs")
    print(f"dev-set check: {ok} reproduced exactly, {bad} not")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--stdlib", default=sysconfig.get_paths()["stdlib"])
    regs = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/")))
    ap.add_argument("--registry", default=regs[0] if regs else None)
    ap.add_argument("--check-dev", action="store_true",
                    help="only re-derive the dev set's Python/Rust cases and report")
    args = ap.parse_args()

    if sys.version.split()[0] != EXPECTED_PYTHON:
        print(f"warning: made with CPython {EXPECTED_PYTHON}; this is {sys.version.split()[0]}, "
              "so the set may differ", file=sys.stderr)

    dev = [json.loads(l) for l in open(DEV, encoding="utf-8") if l.strip()]
    if args.check_dev:
        check_dev(dev, args.stdlib, args.registry)
        return

    dev_files = {d["origin"].rpartition(":")[0].split("/", 1)[1]
                 for d in dev if d["lang"] == "python"}
    dev_crates = {re.sub(r"-\d[^-]*$", "", d["origin"].split("/", 1)[0])
                  for d in dev if d["lang"] == "rust"}
    dev_names = {lang: {d["name"] for d in dev if d["lang"] == lang} for lang in ("python", "rust")}

    py = python_cases(args.stdlib, PY_MODULES, dev_files, set(dev_names["python"]))
    rs = rust_cases(args.registry, RUST_CRATES, dev_crates, set(dev_names["rust"]))
    assert len(py) == PER_LANG and len(rs) == PER_LANG, (len(py), len(rs))

    cases = []
    for i, c in enumerate(py + rs):
        c["id"] = ("hp" if c["lang"] == "python" else "hr") + f"{i:03d}"
        cases.append(c)

    # Validation.
    for c in cases:
        assert c["name"] not in dev_names[c["lang"]], c
        if c["lang"] == "python":
            assert c["origin"].rpartition(":")[0].split("/", 1)[1] not in dev_files, c
            ast.parse(textwrap.dedent(c["code"]))
        else:
            assert re.sub(r"-\d[^-]*$", "", c["origin"].split("/", 1)[0]) not in dev_crates, c
            assert braces_balanced(c["code"]), c["origin"]
            assert "///" not in c["code"].split("{", 1)[0], c["origin"]
    for lang in ("python", "rust"):
        names = [c["name"] for c in cases if c["lang"] == lang]
        assert len(names) == len(set(names)), names

    with open(args.out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps({k: c[k] for k in ("lang", "origin", "name", "code", "reference", "id")}) + "\n")

    print(f"wrote {len(cases)} cases to {os.path.relpath(args.out, ROOT)}\n")
    print(f"{'id':6} {'origin':58} {'name':28} {'lines':>5} {'words':>5}")
    for c in cases:
        print(f"{c['id']:6} {c['origin']:58} {c['name']:28} {len(c['code'].split(chr(10))):5} "
              f"{len(c['reference'].split()):5}")


if __name__ == "__main__":
    main()

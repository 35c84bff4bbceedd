#!/usr/bin/env python3
"""Drives Helix in tmux the way a person does, against the real `gloss lsp`, reading only the
screen (`tmux capture-pane -p`) and the files Helix writes. Started by run.sh, which builds Helix
and passes everything through the environment:

  HX, HELIX_RUNTIME   the editor and its runtime folder
  GLOSS_BIN           the server binary
  GLOSS_TEST_MODEL    the model (smollm2-135m)
  GLOSS_HELIX_WORK    a fresh folder for config, workspace, tmux socket and logs
  GLOSS_HELIX_OUT     where result.json, the captured screens and logs are kept
  GLOSS_HELIX_WAIT_S  how long to wait for one explanation or doc comment (default 240)

The order matters: the first hover is the one that meets an empty cache, so it is the one that
shows whether a slow gloss holds back the other server's hover.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
HX = os.environ["HX"]
GLOSS_BIN = os.environ["GLOSS_BIN"]
MODEL = os.environ.get("GLOSS_TEST_MODEL", "smollm2-135m")
WORK = os.environ["GLOSS_HELIX_WORK"]
OUT = os.environ["GLOSS_HELIX_OUT"]
WAIT_S = float(os.environ.get("GLOSS_HELIX_WAIT_S", "240"))

# gloss's hover budget in this test. Small, and gloss runs the model on one thread, so that the
# first hover (empty cache) runs out of it even on a fast machine: gloss is then, for that hover,
# the slow server.
HOVER_BUDGET_MS = 300
# What the popup may take beyond gloss's budget: Helix's event loop, tmux, this script's polling
# and a debug build on two shared cores. The stand-in itself answers in milliseconds.
HOVER_SLACK_MS = 2500
POLL_S = 0.05
SCREEN_W, SCREEN_H = 160, 50
FOOTER = "gloss · " + MODEL

CONFIG_HOME = os.path.join(WORK, "config")
WORKSPACE = os.path.join(WORK, "workspace")
GLOSS_CACHE = os.path.join(WORK, "gloss-cache")
SOCKET = os.path.join(WORK, "tmux.sock")
HX_LOG = os.path.join(WORK, "helix.log")
STANDIN_LOG = os.path.join(WORK, "standin.log")

started = time.monotonic()
checks = []
timings = {}


def elapsed_ms():
    return int((time.monotonic() - started) * 1000)


def say(text):
    print("[helix %5.1fs] %s" % (time.monotonic() - started, text), flush=True)


def check(name, ok, detail=""):
    ok = bool(ok)
    checks.append({"name": name, "ok": ok, "detail": str(detail)[:4000], "t_ms": elapsed_ms()})
    say(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)))
    return ok


class Stop(Exception):
    """A check failed that the following steps depend on."""


def require(name, ok, detail=""):
    if not check(name, ok, detail):
        raise Stop(name)


def expect(name, ok, detail=""):
    """A step repeated until something arrives: only its failure is a check of its own."""
    if not ok:
        require(name, ok, detail)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# --- configuration -------------------------------------------------------------------------------

def toml_string(text):
    # A TOML basic string accepts JSON's escapes for everything a path holds.
    return json.dumps(text)


def test_languages_toml():
    """The project's languages.toml with the changes a test needs, each asserted to apply once, so
    an edit of the shipped file that the test no longer matches fails here instead of silently
    testing something else."""
    with open(os.path.join(ROOT, "editors", "helix", "languages.toml")) as f:
        text = f.read()
    edits = [
        ('command = "gloss"', "command = " + toml_string(GLOSS_BIN)),
        ('model = "qwen2.5-coder-0.5b"', "model = " + toml_string(MODEL)),
        ("hoverTimeoutMs = 8000", "hoverTimeoutMs = %d" % HOVER_BUDGET_MS),
        ('logLevel = "warn"', 'logLevel = "info"'),
        # A fresh cache: every explanation in this run is generated, none comes from an earlier run.
        ("[language-server.gloss.config]\n",
         "[language-server.gloss.config]\ncacheDir = %s\nthreads = 1\n" % toml_string(GLOSS_CACHE)),
    ]
    for old, new in edits:
        count = text.count(old)
        require("editors/helix/languages.toml has `%s` once" % old.strip(), count == 1,
                "found %d times: update drive.py's edits" % count)
        text = text.replace(old, new)
    standin = os.path.join(HERE, "standin_lsp.py")

    def server(name, *flags):
        args = ", ".join(toml_string(a) for a in (standin, name) + flags)
        return "[language-server.%s]\ncommand = %s\nargs = [%s]\n" % (
            name, toml_string(sys.executable), args)

    # The servers the file keeps next to gloss are not installed here; stand-ins take their
    # names, so the file's language lists are used exactly as shipped. ruff's stand-in offers no
    # hover: one other hover per language, as with pylsp alone.
    text += ("\n# drive.py: stand-ins for the servers this machine lacks\n"
             + server("pylsp") + server("ruff", "--no-hover") + server("rust-analyzer"))
    parsed = tomllib.loads(text)
    gloss = parsed["language-server"]["gloss"]
    require("the test's languages.toml points gloss at GLOSS_BIN with the test model",
            gloss["command"] == GLOSS_BIN and gloss["config"]["model"] == MODEL
            and gloss["config"]["cacheDir"] == GLOSS_CACHE, json.dumps(gloss))
    return text


CONFIG_TOML = """\
[editor]
# The clipboard provider probe runs external programs; nothing here needs a clipboard.
clipboard-provider = "none"

[editor.lsp]
display-messages = true
display-progress-messages = true
"""


def write_config():
    helix_dir = os.path.join(CONFIG_HOME, "helix")
    os.makedirs(helix_dir, exist_ok=True)
    os.makedirs(GLOSS_CACHE, exist_ok=True)
    with open(os.path.join(helix_dir, "config.toml"), "w") as f:
        f.write(CONFIG_TOML)
    languages = test_languages_toml()
    with open(os.path.join(helix_dir, "languages.toml"), "w") as f:
        f.write(languages)
    shutil.copy(os.path.join(helix_dir, "languages.toml"), os.path.join(OUT, "languages.toml"))
    shutil.copytree(os.path.join(HERE, "fixtures"), WORKSPACE)


def hx_env(config_home=CONFIG_HOME, path=None):
    env = dict(os.environ)
    env.update(XDG_CONFIG_HOME=config_home, HELIX_RUNTIME=os.environ["HELIX_RUNTIME"],
               STANDIN_LSP_LOG=STANDIN_LOG, TERM=env.get("TERM") or "xterm-256color")
    if path is not None:
        env["PATH"] = path
    return env


# --- hx --health ---------------------------------------------------------------------------------

def health(language, config_home, path=None):
    run = subprocess.run([HX, "--health", language], env=hx_env(config_home, path), cwd=WORKSPACE,
                         capture_output=True, text=True, timeout=60)
    return ANSI.sub("", run.stdout + run.stderr)


def check_health():
    for language in ("python", "rust"):
        text = health(language, CONFIG_HOME)
        with open(os.path.join(OUT, "health-%s.txt" % language), "w") as f:
            f.write(text)
        line = next((l for l in text.splitlines() if re.match(r"\s*\S+ gloss:", l)), "")
        check("hx --health %s finds gloss at GLOSS_BIN" % language,
              "✓" in line and line.rstrip().endswith(GLOSS_BIN), line or text)

    # The shipped file as a user installs it (README: gloss on $PATH, file merged into the config
    # folder), without the test's changes.
    plain_home = os.path.join(WORK, "config-as-shipped")
    os.makedirs(os.path.join(plain_home, "helix"))
    shutil.copy(os.path.join(ROOT, "editors", "helix", "languages.toml"),
                os.path.join(plain_home, "helix", "languages.toml"))
    # `gloss` on $PATH under that name, whatever GLOSS_BIN is called.
    bin_dir = os.path.join(WORK, "bin")
    os.makedirs(bin_dir)
    os.symlink(GLOSS_BIN, os.path.join(bin_dir, "gloss"))
    path = bin_dir + os.pathsep + os.environ.get("PATH", "")
    text = health("python", plain_home, path)
    with open(os.path.join(OUT, "health-python-as-shipped.txt"), "w") as f:
        f.write(text)
    line = next((l for l in text.splitlines() if re.match(r"\s*\S+ gloss:", l)), "")
    check("hx --health python finds gloss on $PATH with editors/helix/languages.toml as shipped",
          "✓" in line and line.rstrip().endswith(os.path.join(bin_dir, "gloss")), line or text)


# --- tmux ----------------------------------------------------------------------------------------

def tmux(*args, check_rc=True):
    run = subprocess.run(["tmux", "-S", SOCKET, "-f", "/dev/null", *args],
                         capture_output=True, text=True, timeout=30)
    if check_rc and run.returncode != 0:
        raise RuntimeError("tmux %s: %s" % (" ".join(args), run.stderr.strip()))
    return run.stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "hx")


def keys(*names):
    tmux("send-keys", "-t", "hx", *names)


def type_text(text):
    tmux("send-keys", "-t", "hx", "-l", text)


def escape():
    # A terminal sends Alt-x as Escape then x: an Escape directly followed by the next key would
    # reach Helix as an Alt chord. A pause after it keeps it a key of its own.
    keys("Escape")
    time.sleep(0.2)


def command(text):
    """A typable command, as typed after `:` in normal mode (an open popup closes on `:`)."""
    type_text(":" + text)
    keys("Enter")


def wait_screen(predicate, timeout_s):
    """Polls the screen until predicate(text) is true; returns (text, seconds until it first was)
    or (last screen, None).

    Helix writes a frame in several pieces, and a capture can fall between two of them (a popup
    without its last rows was seen so): a screen counts once a second capture, a poll later, is
    the same."""
    t0 = time.monotonic()
    text, first = "", None
    while True:
        previous, text = text, screen()
        if predicate(text):
            if first is not None and text == previous:
                return text, first - t0
            if first is None:
                first = time.monotonic()
        else:
            first = None
        if time.monotonic() - t0 > timeout_s:
            return text, None
        time.sleep(POLL_S)


def wait_initialized(servers, timeout_s):
    """Waits until Helix has initialized each server. Helix asks only initialized servers for a
    hover, so a hover sent earlier would meet gloss alone and spend its first, uncached request.
    Nothing on the screen says when a server is ready; Helix's log (-v) records the
    `initialized` notification it sends."""
    t0 = time.monotonic()
    missing = list(servers)
    while missing and time.monotonic() - t0 <= timeout_s:
        try:
            with open(HX_LOG, errors="replace") as f:
                log = f.read()
        except FileNotFoundError:
            log = ""
        missing = [name for name in servers if
                   '%s -> {"jsonrpc":"2.0","method":"initialized"' % name not in log]
        if missing:
            time.sleep(POLL_S)
    return missing


def keep(name, text):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(text)


def start_editor(path):
    env = hx_env()
    exports = " ".join("%s=%s" % (k, quote(env[k])) for k in
                       ("XDG_CONFIG_HOME", "HELIX_RUNTIME", "STANDIN_LSP_LOG", "PATH"))
    # The shell stays after hx exits, so a crash leaves its status on the screen.
    shell = "cd %s && env %s %s -v --log %s --config %s %s; echo HX-EXITED-$?; sleep 600" % (
        quote(WORKSPACE), exports, quote(HX), quote(HX_LOG),
        quote(os.path.join(CONFIG_HOME, "helix", "config.toml")), quote(path))
    tmux("new-session", "-d", "-s", "hx", "-x", str(SCREEN_W), "-y", str(SCREEN_H), shell)


def quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


# --- hovers --------------------------------------------------------------------------------------

def popup_header(text, index, total, server):
    return "[%d/%d] %s" % (index, total, server) in text


def goto(line):
    command(str(line))


def hover_both(other, line0, timeout_s):
    """space k (closing any popup still open), then waits for Helix's popup with both pages;
    returns (screen, seconds)."""
    keys("Space", "k")
    return wait_screen(lambda s: popup_header(s, 1, 2, other) and
                       ("STANDIN-HOVER %s line %d" % (other, line0)) in s, timeout_s)


def gloss_page(timeout_s=10):
    """Alt-n: the popup's second page, gloss's answer."""
    keys("M-n")
    # The page ends in gloss's footer, or in "Hover again…" while it explains.
    return wait_screen(lambda s: popup_header(s, 2, 2, "gloss") and
                       (FOOTER in s or "Hover again" in s), timeout_s)


def explained(text, name):
    return FOOTER in text and ("Explaining %s" % name) not in text


def hover_until_explained(other, line, name, label):
    """Hovers again until gloss's page holds the explanation, as a person would after reading
    "Hover again in a moment"; returns the screen of that page."""
    deadline = time.monotonic() + WAIT_S
    attempts = 0
    while True:
        attempts += 1
        text, secs = hover_both(other, line - 1, 30)
        expect("%s: space k shows the popup with %s's and gloss's pages (hover %d)"
               % (label, other, attempts), secs is not None, text)
        text, secs = gloss_page()
        expect("%s: Alt-n turns to gloss's page (hover %d)" % (label, attempts),
               secs is not None, text)
        if explained(text, name):
            check("%s: space k, Alt-n: gloss's page shows the explanation of %s (hover %d)"
                  % (label, name, attempts), True)
            return text
        expect("%s: gloss's page says Explaining %s… until the explanation is ready (hover %d)"
               % (label, name, attempts),
               ("Explaining %s" % name) in text and "Hover again" in text, text)
        expect("%s: the explanation of %s arrives within %ds" % (label, name, WAIT_S),
               time.monotonic() < deadline, text)
        time.sleep(2)


def body_lines(page):
    """The text lines of gloss's page between the header rule and the footer: the explanation."""
    lines = page.splitlines()
    top = next(i for i, l in enumerate(lines) if "[2/2] gloss" in l)
    bottom = next(i for i, l in enumerate(lines) if FOOTER in l)
    return [l for l in lines[top + 2:bottom] if re.search(r"[A-Za-z]{3}", l)]


def python_hovers():
    start_editor("inventory.py")
    text, secs = wait_screen(lambda s: "inventory.py" in s and "def average" in s, 30)
    require("hx opens inventory.py in tmux", secs is not None, text)

    missing = wait_initialized(["pylsp", "ruff", "gloss"], 60)
    require("Helix starts pylsp's and ruff's stand-ins and gloss for inventory.py", not missing,
            "not initialized after 60 s: %s (see helix.log)" % ", ".join(missing))

    goto(9)  # def average
    t0 = time.monotonic()
    keys("Space", "k")
    # Any answer ends the wait, so a popup with gloss's page alone fails below with its screen.
    text, secs = wait_screen(lambda s: any(m in s for m in (
        "STANDIN-HOVER", "Explaining", FOOTER, "No hover results", "No configured")), 30)
    popup_ms = int(((time.monotonic() - t0) if secs is None else secs) * 1000)
    keep("hover-first-pylsp.txt", text)
    require("python: the first hover shows pylsp's page first, [1/2] of two",
            popup_header(text, 1, 2, "pylsp") and "STANDIN-HOVER pylsp line 8" in text, text)
    timings["first_hover_popup_ms"] = popup_ms
    # Helix shows the popup once every server answered: the stand-in's instant answer waited
    # for gloss, and must not have waited longer than gloss's budget.
    check("python: gloss, slow on an empty cache, holds back pylsp's hover by no more than "
          "hoverTimeoutMs (%d ms, budget %d ms + %d ms slack)"
          % (popup_ms, HOVER_BUDGET_MS, HOVER_SLACK_MS),
          popup_ms <= HOVER_BUDGET_MS + HOVER_SLACK_MS, "popup after %d ms" % popup_ms)
    text, secs = gloss_page()
    keep("hover-first-gloss.txt", text)
    require("python: Alt-n turns to gloss's page", secs is not None, text)
    # Proof that gloss was the slow one for that hover; without it the bound above says nothing.
    check("python: gloss's first answer is Explaining average… (its budget ran out)",
          "Explaining average" in text and "Hover again" in text, text)
    check("python: the popup waited for gloss's budget (%d ms >= %d ms)" %
          (popup_ms, HOVER_BUDGET_MS * 9 // 10), popup_ms >= HOVER_BUDGET_MS * 9 // 10,
          "popup after %d ms" % popup_ms)

    page = hover_until_explained("pylsp", 9, "average", "python")
    keep("hover-python.txt", page)
    body = " ".join(body_lines(page))
    check("python: the explanation, above the footer `%s`, speaks of average" % FOOTER,
          "average" in body, page)
    # Turning back shows the other server's answer is still there.
    keys("M-p")
    text, secs = wait_screen(lambda s: popup_header(s, 1, 2, "pylsp"), 10)
    check("python: Alt-p turns back to pylsp's page", secs is not None and
          "STANDIN-HOVER pylsp line 8" in text, text)
    escape()


def rust_hover_and_doc_comment():
    command("open geometry.rs")
    text, secs = wait_screen(lambda s: "geometry.rs" in s and "pub fn distance" in s, 30)
    require("hx opens geometry.rs", secs is not None, text)

    missing = wait_initialized(["rust-analyzer"], 60)
    require("Helix starts rust-analyzer's stand-in for geometry.rs", not missing,
            "not initialized after 60 s (see helix.log)")

    goto(6)  # pub fn distance
    page = hover_until_explained("rust-analyzer", 6, "distance", "rust")
    keep("hover-rust.txt", page)
    check("rust: the explanation, above the footer, speaks of distance",
          "distance" in " ".join(body_lines(page)), page)
    escape()

    goto(12)  # pub fn clamp_percent
    keys("Space", "a")
    actions = ("Explain clamp_percent", "Add doc comment to clamp_percent",
               "Regenerate explanation of clamp_percent")
    # Menu titles are plain text: the names keep gloss's backticks.
    plain = lambda s: s.replace("`", "")
    text, secs = wait_screen(lambda s: all(a in plain(s) for a in actions), 30)
    keep("code-actions-rust.txt", text)
    require("rust: space a lists gloss's actions (%s)" % "; ".join(actions), secs is not None, text)

    # The menu's rows in screen order are its order; the first is selected when it opens.
    rows = [l for l in plain(text).splitlines() if any(a in l for a in actions)]
    index = next(i for i, l in enumerate(rows) if "Add doc comment to clamp_percent" in l)
    for _ in range(index):
        keys("C-n")
    keys("Enter")
    text, secs = wait_screen(
        lambda s: re.search(r"///[^\n]*\n[^\n]*pub fn clamp_percent", s) is not None, WAIT_S)
    keep("doc-comment-rust.txt", text)
    require("rust: Add doc comment writes /// lines above clamp_percent on the screen",
            secs is not None, text)
    timings["doc_comment_s"] = round(secs, 1)
    text, secs = wait_screen(lambda s: "writing a doc comment" in s, 10)
    keep("doc-comment-progress.txt", text)
    check("rust: the status line names gloss once in the progress (gloss: writing a doc comment)",
          secs is not None and "gloss: writing a doc comment" in text
          and "gloss: gloss:" not in text, text)

    command("w")
    # Helix saves by renaming the file to a backup and writing a new one, so until its status
    # line drops the `[+]` the file can be missing or half written.
    text, secs = wait_screen(lambda s: "geometry.rs" in s and "geometry.rs [+]" not in s, 10)
    check("rust: :w saves geometry.rs (the status line drops [+])", secs is not None, text)
    path = os.path.join(WORKSPACE, "geometry.rs")
    with open(os.path.join(HERE, "fixtures", "geometry.rs")) as f:
        original = f.read().splitlines()
    deadline = time.monotonic() + 10
    while True:
        try:
            with open(path) as f:
                saved = f.read().splitlines()
        except FileNotFoundError:
            saved = []
        if (saved and saved != original) or time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    keep("geometry.rs.saved", "\n".join(saved) + "\n")
    at = original.index("pub fn clamp_percent(value: i32) -> i32 {")
    added = saved[at:len(saved) - (len(original) - at)]
    check("rust: :w saves a doc comment of /// lines directly above clamp_percent, "
          "the rest of the file unchanged",
          added and all(l.startswith("///") for l in added)
          and saved[:at] == original[:at] and saved[at + len(added):] == original[at:],
          "\n".join(saved))


def check_gloss_messages():
    """What gloss said to Helix besides answers: no warning or error, so the `config` table and
    everything Helix sent were accepted. Helix's log (-v) holds every message it received."""
    complaints = []
    with open(HX_LOG, errors="replace") as f:
        for line in f:
            if " gloss <- " in line:
                message = json.loads(line.split(" gloss <- ", 1)[1])
                if (message.get("method") in ("window/logMessage", "window/showMessage")
                        and message["params"]["type"] <= 2):
                    complaints.append(message["params"]["message"])
            elif "[ERROR]" in line and "gloss" in line:
                complaints.append(line.strip())
    check("gloss sent Helix no warning or error, and Helix logged none about gloss",
          not complaints, "\n".join(complaints))


def main():
    os.makedirs(OUT, exist_ok=True)
    try:
        write_config()
        check_health()
        python_hovers()
        rust_hover_and_doc_comment()
        check_gloss_messages()
        command("qa!")
        text, secs = wait_screen(lambda s: "HX-EXITED-" in s, 15)
        check("hx quits with status 0", secs is not None and "HX-EXITED-0" in text, text)
    except Stop:
        pass
    except Exception as error:  # a broken driver is a failed run, with what it saw
        check("the driver ran to the end", False, repr(error))
    finally:
        try:
            keep("last-screen.txt", screen())
        except Exception:
            pass
        tmux("kill-server", check_rc=False)
        for log in (HX_LOG, STANDIN_LOG):
            if os.path.exists(log):
                shutil.copy(log, OUT)
    passed = bool(checks) and all(c["ok"] for c in checks)
    result = {"passed": passed, "hx": HX, "gloss": GLOSS_BIN, "model": MODEL,
              "hover_budget_ms": HOVER_BUDGET_MS, "timings": timings,
              "duration_ms": elapsed_ms(), "checks": checks}
    with open(os.path.join(OUT, "result.json"), "w") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
    say("%s: %d/%d checks in %.0fs; screens and logs in %s" % (
        "PASSED" if passed else "FAILED", sum(c["ok"] for c in checks), len(checks),
        elapsed_ms() / 1000, OUT))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

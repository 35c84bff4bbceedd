// Drives code-server (VS Code in the browser) with playwright-core and Debian's chromium against the
// installed gloss extension and the real gloss server. Called by run.sh:
//   NODE_PATH=<playwright-core>/node_modules node e2e.js <url> <outdir>
// Checks: a real hover explanation in a Python and a Rust file, the gloss actions in the Ctrl+.
// menu, "gloss: Explain function at cursor" opening one rendered markdown preview with server
// progress in the status bar, and a clear error with "Open Settings" for a missing server binary.
// Writes PNG screenshots and result.json to <outdir>; exits 1 when a check failed.
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const URL = process.argv[2];
const OUT = process.argv[3];
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const MODEL = "smollm2-135m";
const FOOTER = `gloss · ${MODEL}`; // crates/gloss-lsp/src/render.rs: footer()
fs.mkdirSync(OUT, { recursive: true });

const t0 = Date.now();
const result = { checks: [], hovers: {}, toasts: [] };
let failed = 0;
const log = (msg) => console.log(`[e2e.js ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
function check(name, ok, detail) {
  result.checks.push({ name, ok: !!ok, detail });
  if (!ok) failed++;
  log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` — ${String(detail).replace(/\s+/g, " ").slice(0, 300)}` : ""}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const shot = (name, opts = {}) => page.screenshot({ path: path.join(OUT, `${name}.png`), ...opts });

  // Runs one part of the test; an exception fails it (with a screenshot) and the rest goes on.
  async function step(name, fn) {
    log(`--- ${name}`);
    try {
      await fn();
    } catch (error) {
      check(name, false, String(error && error.message ? error.message : error).split("\n")[0]);
      await shot(`error-${name.replace(/\W+/g, "-")}`).catch(() => {});
      await page.keyboard.press("Escape").catch(() => {});
    }
  }

  async function toastTexts() {
    return page.locator(".notifications-toasts .notification-list-item").allInnerTexts().catch(() => []);
  }

  async function runCommand(title) {
    await page.keyboard.press("F1");
    await page.waitForSelector(".quick-input-widget input", { timeout: 10000 });
    await page.keyboard.type(title);
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
    await row.waitFor({ timeout: 10000 });
    const text = await row.innerText();
    await page.keyboard.press("Enter");
    return text;
  }

  // Finds a setting in the Settings editor (opening it if needed); returns its row.
  async function settingRow(query, label) {
    await page.mouse.move(700, 600);
    await runCommand("Preferences: Open User Settings"); // opens or reveals it, focus in the search box
    await page.locator(".settings-editor").waitFor({ timeout: 15000 });
    await sleep(1000);
    await page.keyboard.press("Control+A");
    await page.keyboard.type(query);
    const item = page.locator(".settings-editor .setting-item-contents", { hasText: label }).first();
    await item.waitFor({ timeout: 15000 });
    return item;
  }

  async function toast(pattern, timeout = 30000) {
    const loc = page.locator(".notifications-toasts .notification-list-item", { hasText: pattern }).first();
    await loc.waitFor({ timeout });
    return loc;
  }

  async function openFile(name) {
    await page.keyboard.press("Control+P");
    await page.waitForSelector(".quick-input-widget input", { timeout: 10000 });
    await page.keyboard.type(name);
    await page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first().waitFor({ timeout: 10000 });
    await page.keyboard.press("Enter");
    await page.locator(".tabs-container .tab.active", { hasText: name }).waitFor({ timeout: 15000 });
  }

  // The span of a token (tokenization splits lines into one span per token).
  async function token(text) {
    const loc = page
      .locator(".editor-group-container.active .monaco-editor .view-lines span span", { hasText: new RegExp(`^${text}$`) })
      .first();
    await loc.waitFor({ timeout: 30000 });
    return loc;
  }

  // Hovers `word` and waits for gloss's generated explanation (hoverTimeoutMs is 60000, so the
  // hover request itself waits for the model; "Explaining…" would mean the budget ran out).
  async function hoverExplanation(file, word) {
    const tok = await token(word);
    let text = "";
    const deadline = Date.now() + 240000;
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      await page.mouse.move(5, 450);
      await sleep(400);
      await tok.hover();
      // While the request runs the widget says "Loading…": keep the mouse still (moving away
      // cancels the request). No widget at all (the server is not up yet): hover again.
      let lastSeen = Date.now();
      while (Date.now() < deadline) {
        text = (await page.locator(".monaco-hover:visible").allInnerTexts().catch(() => [])).join("\n").trim();
        if (text.includes("gloss") && !/Loading/.test(text)) break;
        if (text !== "") lastSeen = Date.now();
        else if (Date.now() - lastSeen > 8000) break;
        await sleep(500);
      }
      if (text.includes(FOOTER) || text.includes("cannot explain")) break;
      log(`hover attempt ${attempt} on ${word}: ${JSON.stringify(text.slice(0, 120))}; again`);
      if (/Explaining/.test(text)) await sleep(5000); // the answer goes on into the cache
    }
    result.hovers[file] = text;
    const body = text.split(FOOTER)[0].replace(/-{3,}/g, "").trim();
    check(`${file}: hover on \`${word}\` shows a generated explanation`,
      text.includes(FOOTER) && body.length >= 20 && !/Explaining|cannot explain/.test(text),
      text);
    check(`${file}: the hover was generated now, not read from a cache`, text.includes(FOOTER) && !text.includes("· cached"), text.split("\n").pop());
    // a small picture of the hover for the README: the hover plus the code around it
    const box = await page.locator(".monaco-hover:visible").first().boundingBox().catch(() => null);
    const tb = await tok.boundingBox();
    await shot(`hover-${file}`);
    if (box && tb) {
      const x = Math.max(0, Math.min(box.x, tb.x) - 60);
      const y = Math.max(0, Math.min(box.y, tb.y) - 30);
      const right = Math.min(1400, Math.max(box.x + box.width, tb.x + tb.width) + 40);
      const bottom = Math.min(900, Math.max(box.y + box.height, tb.y + tb.height) + 40);
      await shot(`hover-${file}-crop`, { clip: { x, y, width: right - x, height: bottom - y } });
    }
    await page.mouse.move(5, 450);
    await page.keyboard.press("Escape");
  }

  try {
    log(`opening ${URL}`);
    await page.goto(URL);
    await page.waitForSelector(".monaco-workbench", { timeout: 90000 });
    await sleep(2000);
    await shot("0-workbench");

    await step("python hover", async () => {
      await openFile("inventory.py");
      await hoverExplanation("inventory.py", "total_value");
    });

    await step("rust hover", async () => {
      await openFile("geometry.rs");
      await hoverExplanation("geometry.rs", "distance");
    });

    await step("code actions", async () => {
      const tok = await token("perimeter");
      await tok.click();
      await page.keyboard.press("Control+Period");
      const menu = page.locator(".action-widget").first();
      await menu.waitFor({ state: "visible", timeout: 15000 });
      await page.locator(".action-widget [role=option]", { hasText: "perimeter" }).first().waitFor({ timeout: 15000 });
      const rows = await page.locator(".action-widget [role=option]").allInnerTexts();
      result.codeActions = rows;
      await shot("code-actions");
      check("Ctrl+. lists \"Explain `perimeter`\"", rows.some((r) => /Explain\s+`?perimeter`?/.test(r)), rows.join(" | "));
      check("Ctrl+. lists the doc comment action", rows.some((r) => /doc comment/i.test(r)), rows.join(" | "));
      check("Ctrl+. lists \"Regenerate explanation\"", rows.some((r) => /Regenerate explanation/.test(r)), rows.join(" | "));
      await page.keyboard.press("Escape");
      await menu.waitFor({ state: "hidden", timeout: 5000 }).catch(() => {});
    });

    await step("explain command", async () => {
      await page.locator(".tabs-container .tab", { hasText: "geometry.rs" }).first().click();
      const tok = await token("perimeter");
      await tok.click(); // the cursor on the function's name
      result.paletteRow = await runCommand("gloss: Explain function at cursor");
      // Watch the status bar while the server generates: its $/progress shows there.
      const preview = page.locator(".tabs-container .tab", { hasText: /^Preview .+\.md/ });
      const seen = new Set();
      let progressShot = false;
      const deadline = Date.now() + 180000;
      while (Date.now() < deadline && (await preview.count()) === 0) {
        const status = (await page.locator(".statusbar").innerText().catch(() => "")).replace(/\s+/g, " ");
        for (const m of status.matchAll(/gloss: [^$]{0,60}/g)) seen.add(m[0].trim());
        if (!progressShot && /gloss: explaining/.test(status)) {
          progressShot = true;
          await shot("progress");
        }
        await sleep(150);
      }
      result.statusBarProgress = [...seen];
      check("server progress shows in the status bar", [...seen].some((s) => /gloss: explaining/.test(s)), [...seen].join(" | "));
      await preview.first().waitFor({ timeout: 1000 });
      await sleep(2500); // let the preview render, and give a second (wrong) open the time to happen
      const tabs = await page.locator(".tabs-container .tab").allInnerTexts();
      result.tabs = tabs.map((t) => t.replace(/\s+/g, " ").trim());
      const previews = result.tabs.filter((t) => /^Preview .+\.md/.test(t));
      const rawMd = result.tabs.filter((t) => /\.md\b/.test(t) && !/^Preview /.test(t));
      check("the explanation opens as one rendered markdown preview", previews.length === 1 && rawMd.length === 0, result.tabs.join(" | "));
      // the preview is a webview: find its frame and read the rendered text
      let rendered = "";
      for (let i = 0; i < 20 && !rendered.includes(FOOTER); i++) {
        for (const frame of page.frames()) {
          const text = await frame.evaluate(() => (document.body ? document.body.innerText : "")).catch(() => "");
          if (text.includes("gloss ·")) rendered = text;
        }
        if (!rendered) await sleep(500);
      }
      result.preview = rendered;
      check("the preview shows the rendered explanation of `perimeter`", rendered.includes("perimeter") && rendered.includes(FOOTER) && !rendered.includes("# `"), rendered.slice(0, 300));
      await shot("explanation-preview");
      result.toasts.push(...(await toastTexts()));
    });

    await step("explain from the light bulb", async () => {
      // The code action runs gloss.explain in the server, which shows the document it wrote
      // (window/showDocument): the extension renders it as a preview too.
      await page.locator(".tabs-container .tab", { hasText: "geometry.rs" }).first().click();
      const tok = await token("distance");
      await tok.click();
      await page.keyboard.press("Control+Period");
      const row = page.locator(".action-widget [role=option]", { hasText: /Explain\s+`distance`/ }).first();
      await row.waitFor({ timeout: 15000 });
      // pick it with the keyboard, as a user would (the menu starts on its first row)
      let picked = "";
      for (let i = 0; i < 8; i++) {
        picked = await page.locator(".action-widget [role=option].focused").first().innerText().catch(() => "");
        if (/Explain\s+`distance`/.test(picked)) break;
        await page.keyboard.press("ArrowDown");
        await sleep(150);
      }
      if (!/Explain\s+`distance`/.test(picked)) throw new Error(`could not select "Explain \`distance\`" (focused: ${picked})`);
      await page.keyboard.press("Enter");
      const preview = page.locator(".tabs-container .tab", { hasText: /^Preview distance.*\.md/ });
      await preview.first().waitFor({ timeout: 180000 });
      await sleep(2000);
      const tabs = (await page.locator(".tabs-container .tab").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
      check("\"Explain `distance`\" from Ctrl+. opens a rendered preview", tabs.filter((t) => /^Preview distance.*\.md/.test(t)).length === 1 && !tabs.some((t) => /\.md/.test(t) && !/^Preview /.test(t)), tabs.join(" | "));
      await shot("light-bulb-explain");
    });

    await step("pull model", async () => {
      // `gloss models pull smollm2-135m` as a child process: the model is there already.
      await page.locator(".tabs-container .tab", { hasText: "geometry.rs" }).first().click();
      await runCommand("gloss: Pull model");
      // The final message, "… is already pulled (PATH).", not the progress toast that shows the
      // command's own "… is already pulled; …" line while it runs.
      const done = await toast(/smollm2-135m is (already pulled|ready) \(/, 60000);
      const text = await done.innerText();
      result.pullToast = text;
      check("\"gloss: Pull model\" runs gloss models pull and reports the result", /SmolLM2-135M-Instruct\.Q4_1\.gguf/.test(text), text);
      await shot("pull-model");
      await done.locator(".codicon-notifications-clear").first().click({ timeout: 2000 }).catch(() => {});
    });

    await step("settings reach the server", async () => {
      // A settings change goes to the running server (workspace/didChangeConfiguration): an
      // unknown model makes it say so.
      const item = await settingRow("gloss.model", "Model");
      const input = item.locator("input").first();
      check("the Settings editor shows gloss.model", (await input.inputValue()) === "smollm2-135m", await input.inputValue());
      await input.fill("no-such-model");
      const said = await toast("no-such-model", 60000);
      const text = await said.innerText();
      result.unknownModelToast = text;
      check("a changed gloss.model reaches the running server", /unknown model/i.test(text), text);
      await shot("settings-change");
      await input.fill("smollm2-135m");
    });

    await step("missing server binary", async () => {
      // Point gloss.server.path at nothing in the Settings editor: the extension restarts the
      // server and must say so clearly, with a button to the setting, instead of failing silently.
      const item = await settingRow("gloss.server.path", "Server: Path");
      const input = item.locator("input").first();
      check("the Settings editor shows gloss.server.path set to GLOSS_BIN", (await input.inputValue()).endsWith("gloss"), await input.inputValue());
      await input.fill("/nonexistent/bin/gloss"); // one input event: one settings change
      const error = await toast("cannot start the language server");
      const text = await error.innerText();
      result.missingBinaryToast = text;
      check("a missing binary gives a clear error", /\/nonexistent\/bin\/gloss/.test(text) && /gloss\.server\.path/.test(text), text);
      const button = error.locator(".monaco-button", { hasText: "Open Settings" });
      check("the error offers \"Open Settings\"", (await button.count()) === 1);
      await shot("missing-binary");
      await button.click();
      const search = page.locator(".settings-editor .suggest-input-container, .settings-editor .settings-header").first();
      await search.waitFor({ timeout: 15000 });
      await sleep(1000);
      const settingsText = await page.locator(".settings-editor").innerText().catch(() => "");
      check("\"Open Settings\" shows the server path setting", /Server: Path|server\.path/i.test(settingsText), settingsText.slice(0, 200));
      await shot("missing-binary-settings");
    });
  } catch (error) {
    check("the test ran to the end", false, String(error));
    await shot("error").catch(() => {});
  }
  result.toasts.push(...(await toastTexts()));
  result.failed = failed;
  fs.writeFileSync(path.join(OUT, "result.json"), JSON.stringify(result, null, 2));
  log(`${result.checks.length - failed}/${result.checks.length} checks passed; result.json and screenshots in ${OUT}`);
  await browser.close();
  process.exit(failed || result.checks.length === 0 ? 1 : 0);
})();

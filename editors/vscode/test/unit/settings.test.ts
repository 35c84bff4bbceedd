// Unit tests of the extension's pure logic (no VS Code needed): `npm test`.

import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
  expandPath,
  isExplainResult,
  isMarkdownUri,
  isModelPath,
  LANGUAGES,
  parsePullProgress,
  pullArgs,
  resolveServerCommand,
  SERVER_SETTING_KEYS,
  type ResolveContext,
  toServerSettings,
} from "../../src/settings";

const ctx = { workspaceFolder: "/work/proj", home: "/home/ann", env: { MODELS: "/data/models" } };

describe("expandPath", () => {
  it("expands ~ and ~/", () => {
    assert.equal(expandPath("~", ctx), "/home/ann");
    assert.equal(expandPath("~/bin/gloss", ctx), "/home/ann/bin/gloss");
  });
  it("leaves ~ elsewhere alone", () => {
    assert.equal(expandPath("/a/~b", ctx), "/a/~b");
    assert.equal(expandPath("~other/x", ctx), "~other/x");
  });
  it("expands ${workspaceFolder}, ${userHome} and ${env:NAME}", () => {
    assert.equal(expandPath("${workspaceFolder}/target/release/gloss", ctx), "/work/proj/target/release/gloss");
    assert.equal(expandPath("${userHome}/.cache", ctx), "/home/ann/.cache");
    assert.equal(expandPath("${env:MODELS}/m.gguf", ctx), "/data/models/m.gguf");
    assert.equal(expandPath("${env:UNSET}/m.gguf", ctx), "/m.gguf");
  });
  it("expands ${workspaceFolder} to nothing without a folder", () => {
    assert.equal(expandPath("${workspaceFolder}/x", { ...ctx, workspaceFolder: undefined }), "/x");
  });
  it("leaves unknown variables alone", () => {
    assert.equal(expandPath("${file}", ctx), "${file}");
  });
});

describe("toServerSettings", () => {
  const from = (values: Record<string, unknown>) => toServerSettings((key) => values[key], ctx);

  it("omits unset and blank values", () => {
    assert.deepEqual(from({}), {});
    assert.deepEqual(from({ model: null, level: undefined, cacheDir: "  ", maxTokens: null }), {});
  });
  it("maps every server setting", () => {
    assert.deepEqual(
      from({
        model: "smollm2-135m",
        level: "expert",
        maxTokens: 64,
        hoverTimeoutMs: 60000,
        prefetch: "open",
        cacheDir: "~/tmp/cache",
        threads: 2,
        logLevel: "debug",
        backend: "openai",
        endpoint: " https://gpu.example.com/v1 ",
        remoteModel: "qwen2.5-coder-7b",
        apiKeyEnv: "GLOSS_API_KEY",
        maxConcurrentRequests: 8,
        allowInsecureHttp: false,
      }),
      {
        model: "smollm2-135m",
        level: "expert",
        maxTokens: 64,
        hoverTimeoutMs: 60000,
        prefetch: "open",
        cacheDir: "/home/ann/tmp/cache",
        threads: 2,
        logLevel: "debug",
        backend: "openai",
        endpoint: "https://gpu.example.com/v1",
        remoteModel: "qwen2.5-coder-7b",
        apiKeyEnv: "GLOSS_API_KEY",
        maxConcurrentRequests: 8,
        allowInsecureHttp: false,
      },
    );
  });
  it("covers exactly the keys of the server's config.rs", () => {
    assert.deepEqual(
      [...SERVER_SETTING_KEYS].sort(),
      [
        "allowInsecureHttp",
        "apiKeyEnv",
        "backend",
        "cacheDir",
        "endpoint",
        "hoverTimeoutMs",
        "level",
        "logLevel",
        "maxConcurrentRequests",
        "maxTokens",
        "model",
        "prefetch",
        "remoteModel",
        "threads",
      ],
    );
  });
  it("never passes other gloss.* settings (server.path, trace) to the server", () => {
    const got = from({ "server.path": "/x", "trace.server": "verbose", server: { path: "/x" } });
    assert.deepEqual(got, {});
  });
  it("expands paths in model and cacheDir", () => {
    assert.deepEqual(from({ model: "${workspaceFolder}/m.gguf", cacheDir: "${workspaceFolder}/.c" }), {
      model: "/work/proj/m.gguf",
      cacheDir: "/work/proj/.c",
    });
  });
  it("passes booleans, and boolean strings as booleans", () => {
    assert.deepEqual(from({ allowInsecureHttp: true }), { allowInsecureHttp: true });
    assert.deepEqual(from({ allowInsecureHttp: " false" }), { allowInsecureHttp: false });
    assert.deepEqual(from({ maxConcurrentRequests: "16" }), { maxConcurrentRequests: 16 });
  });
  it("turns numeric strings into numbers", () => {
    assert.deepEqual(from({ maxTokens: "128", threads: " 4 " }), { maxTokens: 128, threads: 4 });
  });
});

describe("resolveServerCommand", () => {
  const files = new Set(["/usr/local/bin/gloss", "/work/proj/target/release/gloss", "/home/ann/bin/gloss"]);
  const rctx: ResolveContext = {
    ...ctx,
    pathEnv: "/usr/bin:/usr/local/bin",
    platform: "linux",
    isExecutable: (f) => files.has(f),
  };
  it("looks a bare name up on PATH (default gloss)", () => {
    assert.deepEqual(resolveServerCommand(undefined, rctx), { ok: true, command: "/usr/local/bin/gloss" });
    assert.deepEqual(resolveServerCommand("", rctx), { ok: true, command: "/usr/local/bin/gloss" });
    assert.deepEqual(resolveServerCommand("gloss", rctx), { ok: true, command: "/usr/local/bin/gloss" });
  });
  it("expands and checks paths", () => {
    assert.deepEqual(resolveServerCommand("${workspaceFolder}/target/release/gloss", rctx), {
      ok: true,
      command: "/work/proj/target/release/gloss",
    });
    assert.deepEqual(resolveServerCommand("~/bin/gloss", rctx), { ok: true, command: "/home/ann/bin/gloss" });
    assert.deepEqual(resolveServerCommand("./target/release/gloss", rctx), {
      ok: true,
      command: "/work/proj/target/release/gloss",
    });
  });
  it("reports what is missing", () => {
    const missing = resolveServerCommand("/opt/gloss/gloss", rctx);
    assert.ok(!missing.ok);
    assert.match(missing.reason, /\/opt\/gloss\/gloss/);
    const notOnPath = resolveServerCommand("gloss", { ...rctx, pathEnv: "/usr/bin" });
    assert.ok(!notOnPath.ok);
    assert.match(notOnPath.reason, /not found on PATH/);
    assert.deepEqual(notOnPath.tried, ["/usr/bin/gloss"]);
  });
  it("tries .exe on Windows", () => {
    const win: ResolveContext = {
      ...rctx,
      pathEnv: "C:\\tools;C:\\gloss",
      platform: "win32",
      isExecutable: (f) => f === "C:\\gloss\\gloss.exe",
    };
    assert.deepEqual(resolveServerCommand("gloss", win), { ok: true, command: "C:\\gloss\\gloss.exe" });
  });
});

describe("pull helpers", () => {
  it("reads the byte-count lines of gloss models pull", () => {
    assert.deepEqual(parsePullProgress("pulling smollm2-135m: 40 MB / 98 MB"), {
      done: 40e6,
      total: 98e6,
      percent: 41,
    });
    assert.equal(parsePullProgress("pulling qwen2.5-coder-1.5b: 1.11 GB / 1.11 GB")?.percent, 100);
    assert.equal(parsePullProgress("pulling x: 512 kB / 98 MB")?.done, 512e3);
    assert.equal(parsePullProgress("pulling smollm2-135m: trying Hugging Face"), undefined);
    assert.equal(parsePullProgress("error: unknown model `nope`"), undefined);
  });
  it("builds the pull arguments", () => {
    assert.deepEqual(pullArgs(undefined), ["models", "pull"]);
    assert.deepEqual(pullArgs("  "), ["models", "pull"]);
    assert.deepEqual(pullArgs("smollm2-135m"), ["models", "pull", "smollm2-135m"]);
  });
  it("tells model files from catalog ids", () => {
    assert.equal(isModelPath("qwen2.5-coder-0.5b"), false);
    assert.equal(isModelPath("smollm2-135m"), false);
    assert.equal(isModelPath("~/models/x.gguf"), true);
    assert.equal(isModelPath("models/x"), true);
  });
});

describe("explanation results", () => {
  it("recognises the gloss.explain result", () => {
    assert.equal(isExplainResult({ markdown: "# x", uri: "file:///a.md", shown: true, cached: false }), true);
    assert.equal(isExplainResult(null), false);
    assert.equal(isExplainResult({ markdown: "x" }), false);
  });
  it("renders markdown files only", () => {
    assert.equal(isMarkdownUri("file:///home/ann/.cache/gloss/explanations/docs/area-1a2b.md"), true);
    assert.equal(isMarkdownUri("file:///src/main.rs"), false);
    assert.equal(isMarkdownUri("https://example.com/a.md"), false);
  });
});

describe("languages", () => {
  // out-test/test/unit/ -> the extension's folder.
  const manifest = JSON.parse(readFileSync(path.join(__dirname, "../../../package.json"), "utf8")) as {
    activationEvents: string[];
    contributes: { menus: Record<string, { when?: string }[]> };
  };

  it("activates for every language the client serves, and only those", () => {
    const activated = manifest.activationEvents
      .filter((event) => event.startsWith("onLanguage:"))
      .map((event) => event.slice("onLanguage:".length));
    assert.deepEqual([...activated].sort(), [...LANGUAGES].sort());
  });
  it("offers the commands in exactly those languages", () => {
    const clauses = Object.values(manifest.contributes.menus)
      .flat()
      .map((item) => item.when ?? "");
    assert.ok(clauses.length > 0);
    for (const clause of clauses) {
      const listed = /editorLangId =~ \/\^\(([^)]*)\)\$\//.exec(clause);
      assert.ok(listed, `no language list in ${clause}`);
      assert.deepEqual(listed[1].split("|").sort(), [...LANGUAGES].sort());
    }
  });
  it("covers the languages added with TypeScript, Go, Java, C and C++", () => {
    for (const id of ["typescript", "typescriptreact", "go", "java", "c", "cpp"]) {
      assert.ok(LANGUAGES.includes(id), id);
    }
  });
});

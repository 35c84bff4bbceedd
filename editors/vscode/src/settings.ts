// Pure logic of the extension, kept free of the `vscode` module so that it can be unit-tested with
// node's test runner: settings -> the server's settings object, path expansion, finding the binary,
// reading `gloss models pull` progress lines.

import * as path from "node:path";

/**
 * The VS Code language ids gloss explains (crates/gloss-syntax/src/language.rs). package.json lists
 * them again, in `activationEvents` and in the menus' `when` clauses; a unit test keeps the three equal.
 */
export const LANGUAGES = [
  "python",
  "rust",
  "javascript",
  "javascriptreact",
  "typescript",
  "typescriptreact",
  "go",
  "java",
  "c",
  "cpp",
];

/** The settings the server reads (crates/gloss-lsp/src/config.rs), by their key under `gloss.*`. */
export const SERVER_SETTING_KEYS = [
  "model",
  "level",
  "maxTokens",
  "hoverTimeoutMs",
  "prefetch",
  "cacheDir",
  "threads",
  "logLevel",
  "backend",
  "endpoint",
  "remoteModel",
  "apiKeyEnv",
  "maxConcurrentRequests",
  "allowInsecureHttp",
] as const;

export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];
export type ServerSettings = Partial<Record<ServerSettingKey, string | number | boolean>>;

/** Settings whose values are paths (or may be: `model` takes a GGUF path as well as a catalog id). */
const PATH_KEYS: ReadonlySet<ServerSettingKey> = new Set(["model", "cacheDir"]);
const STRING_KEYS: ReadonlySet<ServerSettingKey> = new Set([
  "model",
  "level",
  "prefetch",
  "cacheDir",
  "logLevel",
  "backend",
  "endpoint",
  "remoteModel",
  "apiKeyEnv",
]);
const BOOLEAN_KEYS: ReadonlySet<ServerSettingKey> = new Set(["allowInsecureHttp"]);

export interface ExpandContext {
  /** The first workspace folder's path, if a folder is open. */
  workspaceFolder?: string;
  home: string;
  env: Record<string, string | undefined>;
}

/**
 * Expands what VS Code leaves alone in settings: a leading `~`, `${workspaceFolder}`,
 * `${userHome}` and `${env:NAME}`. A variable that has no value (no folder open, unset variable)
 * becomes the empty string, as in VS Code's own variable resolver.
 */
export function expandPath(value: string, ctx: ExpandContext): string {
  let out = value.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (_m, name: string, envName?: string) => {
    if (name === "workspaceFolder") return ctx.workspaceFolder ?? "";
    if (name === "userHome") return ctx.home;
    return (envName && ctx.env[envName]) ?? "";
  });
  if (out === "~") {
    out = ctx.home;
  } else if (out.startsWith("~/") || out.startsWith("~\\")) {
    out = path.join(ctx.home, out.slice(2));
  }
  return out;
}

/**
 * The object the server gets as `initializationOptions` and in `workspace/didChangeConfiguration`:
 * only the server's own keys (anything else would draw an "unknown setting" warning), unset
 * (`null`/`undefined`) and blank values left out so that the server uses its defaults, paths
 * expanded, numbers typed as the server expects.
 */
export function toServerSettings(
  get: (key: ServerSettingKey) => unknown,
  ctx: ExpandContext,
): ServerSettings {
  const out: ServerSettings = {};
  for (const key of SERVER_SETTING_KEYS) {
    const raw = get(key);
    if (raw === null || raw === undefined) continue;
    if (STRING_KEYS.has(key)) {
      if (typeof raw !== "string") {
        // Passed through: the server warns about the wrong type in the log.
        out[key] = raw as string;
        continue;
      }
      const text = raw.trim();
      if (text === "") continue;
      out[key] = PATH_KEYS.has(key) ? expandPath(text, ctx) : text;
    } else if (BOOLEAN_KEYS.has(key)) {
      if (typeof raw === "string" && (raw.trim() === "true" || raw.trim() === "false")) {
        out[key] = raw.trim() === "true";
      } else {
        // Passed through: the server warns about anything but a boolean.
        out[key] = raw as boolean;
      }
    } else if (typeof raw === "number") {
      out[key] = raw;
    } else if (typeof raw === "string") {
      const text = raw.trim();
      if (text === "") continue;
      out[key] = /^\d+$/.test(text) ? Number(text) : text;
    } else {
      out[key] = raw as number;
    }
  }
  return out;
}

/** Whether a model setting is a file rather than a catalog id (nothing to pull then). */
export function isModelPath(model: string): boolean {
  return /\.gguf$/i.test(model) || model.includes("/") || model.includes("\\");
}

export interface ResolveContext extends ExpandContext {
  /** `$PATH` (or `Path` on Windows). */
  pathEnv: string;
  platform: NodeJS.Platform;
  /** Whether a file exists and can be run. */
  isExecutable: (file: string) => boolean;
}

export type Resolved =
  | { ok: true; command: string }
  | { ok: false; tried: string[]; reason: string };

/**
 * Finds the server binary from the `gloss.server.path` setting: a bare name is looked up on
 * `PATH`, anything with a directory separator is a path (relative paths are taken from the
 * workspace folder).
 */
export function resolveServerCommand(setting: string | undefined | null, ctx: ResolveContext): Resolved {
  const raw = (setting ?? "").trim() || "gloss";
  const expanded = expandPath(raw, ctx);
  const isWindows = ctx.platform === "win32";
  const exts = isWindows ? ["", ".exe", ".cmd", ".bat"] : [""];
  const hasSeparator = expanded.includes("/") || (isWindows && expanded.includes("\\"));
  const pathApi = isWindows ? path.win32 : path.posix;
  if (hasSeparator) {
    const absolute = pathApi.isAbsolute(expanded)
      ? expanded
      : pathApi.resolve(ctx.workspaceFolder ?? ctx.home, expanded);
    const tried = exts.map((e) => absolute + e);
    const found = tried.find((candidate) => ctx.isExecutable(candidate));
    if (found) return { ok: true, command: found };
    return { ok: false, tried, reason: `\`${absolute}\` does not exist or is not executable` };
  }
  const dirs = ctx.pathEnv.split(isWindows ? ";" : ":").filter((d) => d !== "");
  const tried: string[] = [];
  for (const dir of dirs) {
    for (const e of exts) {
      const candidate = pathApi.join(dir, expanded + e);
      tried.push(candidate);
      if (ctx.isExecutable(candidate)) return { ok: true, command: candidate };
    }
  }
  return { ok: false, tried, reason: `\`${expanded}\` was not found on PATH` };
}

/** One line of `gloss models pull` progress, `pulling smollm2-135m: 40 MB / 98 MB`. */
export interface PullProgress {
  done: number;
  total: number;
  /** 0..100 */
  percent: number;
}

const UNITS: Partial<Record<string, number>> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

function bytes(amount: string, unit: string): number | undefined {
  const factor = UNITS[unit];
  const n = Number(amount);
  return factor === undefined || Number.isNaN(n) ? undefined : n * factor;
}

/** Reads a byte-count line of `gloss models pull`; `undefined` for any other line. */
export function parsePullProgress(line: string): PullProgress | undefined {
  const m = /(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB)\s*\/\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB)\s*$/.exec(line.trim());
  if (!m) return undefined;
  const done = bytes(m[1], m[2]);
  const total = bytes(m[3], m[4]);
  if (done === undefined || total === undefined || total <= 0) return undefined;
  return { done, total, percent: Math.min(100, Math.round((done / total) * 100)) };
}

/** The arguments of `gloss models pull` for a model setting; `[]`-tail pulls the default model. */
export function pullArgs(model: string | undefined | null): string[] {
  const id = (model ?? "").trim();
  return id === "" ? ["models", "pull"] : ["models", "pull", id];
}

/** The result of the server's `gloss.explain` command. */
export interface ExplainResult {
  markdown: string;
  uri: string | null;
  shown: boolean;
  cached: boolean;
}

export function isExplainResult(value: unknown): value is ExplainResult {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.markdown === "string" && typeof v.shown === "boolean";
}

/** Whether a document the server asks to show is an explanation to render as markdown. */
export function isMarkdownUri(uri: string): boolean {
  return /^file:.*\.(md|markdown)$/i.test(uri);
}

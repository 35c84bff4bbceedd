// The VS Code client of the gloss language server: starts `gloss lsp`, passes the `gloss.*`
// settings to it, opens the explanations it shows as rendered markdown, and pulls models.

import * as fs from "node:fs";
import * as os from "node:os";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
} from "vscode-languageclient/node";
import {
  type ExpandContext,
  type ExplainResult,
  isExplainResult,
  isMarkdownUri,
  LANGUAGES,
  resolveServerCommand,
  SERVER_SETTING_KEYS,
  type ServerSettings,
  toServerSettings,
} from "./settings";
import { pullModel } from "./pull";

/** Read-only documents holding explanations the server could not write to disk. */
const SCHEME = "gloss-explanation";

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
const virtualDocs = new Map<string, string>();

function expandContext(): ExpandContext {
  return {
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    home: os.homedir(),
    env: process.env,
  };
}

/**
 * The server's settings as the user set them: values left at their defaults are not sent, so
 * that the server applies its own defaults.
 */
export function serverSettings(): ServerSettings {
  const cfg = vscode.workspace.getConfiguration("gloss");
  return toServerSettings((key) => {
    const set = cfg.inspect(key);
    return set?.workspaceFolderValue ?? set?.workspaceValue ?? set?.globalValue;
  }, expandContext());
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Says the server cannot be found or started, with a way to fix it; never throws. */
async function reportMissingServer(detail: string): Promise<void> {
  const openSettings = "Open Settings";
  const showOutput = "Show Output";
  const picked = await vscode.window.showErrorMessage(
    `gloss: cannot start the language server: ${detail}. Install gloss (cargo install --path crates/gloss) ` +
      "or set `gloss.server.path` to the gloss binary.",
    openSettings,
    showOutput,
  );
  if (picked === openSettings) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "gloss.server.path");
  } else if (picked === showOutput) {
    output.show(true);
  }
}

/** The server command from `gloss.server.path`, or `undefined` after telling the user. */
export function findServer(): string | undefined {
  const cfg = vscode.workspace.getConfiguration("gloss");
  const resolved = resolveServerCommand(cfg.get<string>("server.path"), {
    ...expandContext(),
    pathEnv: process.env.PATH ?? process.env.Path ?? "",
    platform: process.platform,
    isExecutable,
  });
  if (!resolved.ok) {
    output.appendLine(`[gloss] ${resolved.reason}; tried: ${resolved.tried.join(", ") || "(nothing)"}`);
    void reportMissingServer(resolved.reason);
    return undefined;
  }
  return resolved.command;
}

function createClient(command: string): LanguageClient {
  const cfg = vscode.workspace.getConfiguration("gloss");
  const extraArgs = cfg.get<string[]>("server.extraArgs") ?? [];
  // No `transport`: with TransportKind.stdio the client would append `--stdio` (gloss accepts and
  // ignores it, but plain stdio needs no flag).
  const serverOptions: ServerOptions = {
    command,
    args: ["lsp", ...extraArgs],
    // Its stderr log lands in the output channel: no terminal colour codes there.
    options: { env: { ...process.env, NO_COLOR: "1" } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.flatMap((language) => [
      { scheme: "file", language },
      { scheme: "untitled", language },
    ]),
    initializationOptions: () => serverSettings(),
    outputChannel: output,
    markdown: { isTrusted: false, supportHtml: false },
    middleware: {
      window: {
        // The server writes each full explanation to a markdown file and asks to show it: open it
        // rendered, beside the code, instead of as markdown source.
        showDocument: async (params, token, next) => {
          if (params.external || !isMarkdownUri(params.uri)) return next(params, token);
          try {
            await showMarkdownPreview(vscode.Uri.parse(params.uri));
            return { success: true };
          } catch (error) {
            output.appendLine(`[gloss] markdown preview failed, opening the file instead: ${String(error)}`);
            return next(params, token);
          }
        },
      },
      workspace: {
        // Servers that pull their settings get the server's keys only (not `server.path` etc.).
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) return answers;
          return params.items.map((item, i) =>
            item.section === "gloss" ? serverSettings() : (answers as unknown[])[i],
          );
        },
      },
    },
  };
  return new LanguageClient("gloss", "gloss", serverOptions, clientOptions);
}

/** Opens the rendered preview of a markdown document beside the active editor. */
async function showMarkdownPreview(uri: vscode.Uri): Promise<void> {
  await vscode.commands.executeCommand("markdown.showPreviewToSide", uri);
}

async function startClient(): Promise<LanguageClient | undefined> {
  if (client) return client;
  const command = findServer();
  if (!command) return undefined;
  const created = createClient(command);
  output.appendLine(`[gloss] starting ${command} lsp`);
  try {
    await created.start();
  } catch (error) {
    output.appendLine(`[gloss] the server failed to start: ${String(error)}`);
    await created.dispose().catch(() => undefined);
    void reportMissingServer(`\`${command} lsp\` failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  client = created;
  return client;
}

async function stopClient(): Promise<void> {
  const current = client;
  client = undefined;
  if (current) {
    try {
      await current.stop();
    } catch (error) {
      output.appendLine(`[gloss] stopping the server: ${String(error)}`);
    }
  }
}

export async function restartClient(): Promise<void> {
  await stopClient();
  await startClient();
}

/** The client when the server runs, else `undefined` after telling the user why. */
async function runningClient(): Promise<LanguageClient | undefined> {
  const current = client ?? (await startClient());
  if (current && current.state === State.Starting) {
    await new Promise<void>((resolve) => {
      const sub = current.onDidChangeState((e) => {
        if (e.newState !== State.Starting) {
          sub.dispose();
          resolve();
        }
      });
    });
  }
  if (!current || current.state !== State.Running) {
    if (current) void vscode.window.showErrorMessage("gloss: the language server is not running; see the gloss output.");
    return undefined;
  }
  return current;
}

/** `gloss: Explain function at cursor`: the full explanation, rendered beside the code. */
async function explainAtCursor(command: "gloss.explain" | "gloss.explainSelection"): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("gloss: open a file and put the cursor on a function first.");
    return;
  }
  if (!LANGUAGES.includes(editor.document.languageId)) {
    void vscode.window.showInformationMessage(
      `gloss: ${editor.document.languageId} is not a language gloss explains (${LANGUAGES.join(", ")}).`,
    );
    return;
  }
  const current = await runningClient();
  if (!current) return;
  const c2p = current.code2ProtocolConverter;
  const argument = {
    uri: c2p.asUri(editor.document.uri),
    range: c2p.asRange(editor.selection),
    version: editor.document.version,
  };
  let result: unknown;
  try {
    result = await current.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] });
  } catch (error) {
    void vscode.window.showErrorMessage(`gloss: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  // `null`: the server already said why (nothing to explain there, no model, cancelled).
  if (!isExplainResult(result)) return;
  await showExplanation(result);
}

/** Shows an explanation the server did not open itself (it opens it with window/showDocument). */
async function showExplanation(result: ExplainResult): Promise<void> {
  if (result.shown) return; // already opened through the showDocument middleware: never twice
  if (result.uri) {
    try {
      await showMarkdownPreview(vscode.Uri.parse(result.uri));
      return;
    } catch {
      // fall through to the virtual document
    }
  }
  const name = `/explanation-${Date.now()}.md`;
  virtualDocs.set(name, result.markdown);
  const uri = vscode.Uri.from({ scheme: SCHEME, path: name });
  try {
    await showMarkdownPreview(uri);
  } catch {
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("gloss", { log: true });
  context.subscriptions.push(output);
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
      provideTextDocumentContent: (uri) => virtualDocs.get(uri.path) ?? "",
    }),
    vscode.commands.registerCommand("gloss.explainAtCursor", () => explainAtCursor("gloss.explain")),
    vscode.commands.registerCommand("gloss.explainSelectionAtCursor", () => explainAtCursor("gloss.explainSelection")),
    vscode.commands.registerCommand("gloss.pullModel", () =>
      pullModel({
        output,
        findServer,
        model: vscode.workspace.getConfiguration("gloss").get<string>("model"),
        expand: expandContext(),
        onPulled: async () => {
          if (client) await restartClient();
        },
      }),
    ),
    vscode.commands.registerCommand("gloss.restartServer", () => restartClient()),
    vscode.commands.registerCommand("gloss.showOutput", () => {
      output.show(true);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("gloss")) return;
      output.info("[gloss] settings changed");
      if (
        event.affectsConfiguration("gloss.server.path") ||
        event.affectsConfiguration("gloss.server.extraArgs")
      ) {
        await restartClient();
        return;
      }
      const affectsServer = SERVER_SETTING_KEYS.some((key) => event.affectsConfiguration(`gloss.${key}`));
      if (affectsServer && client?.state === State.Running) {
        // Pushed, not pulled: the server replaces all its settings with these (unset = default).
        await client.sendNotification("workspace/didChangeConfiguration", {
          settings: { gloss: serverSettings() },
        });
      }
    }),
  );
  await startClient();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

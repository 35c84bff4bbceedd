// `gloss: Pull model`: runs `gloss models pull <model>` with a progress notification.

import { spawn } from "node:child_process";
import * as vscode from "vscode";
import { type ExpandContext, expandPath, isModelPath, parsePullProgress, pullArgs } from "./settings";

export interface PullOptions {
  output: vscode.OutputChannel;
  /** The server binary, or `undefined` after the user was told it is missing. */
  findServer: () => string | undefined;
  /** The `gloss.model` setting (unset: the server's default model). */
  model: string | undefined;
  expand: ExpandContext;
  /** Called after a model was downloaded (so that a running server can load it). */
  onPulled: () => Promise<void>;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string[];
  stdout: string;
  spawnError?: Error;
  cancelled: boolean;
}

export async function pullModel(options: PullOptions): Promise<void> {
  const model = options.model?.trim() || undefined;
  if (model && isModelPath(model)) {
    const file = expandPath(model, options.expand);
    void vscode.window.showErrorMessage(
      `gloss: \`gloss.model\` is a file (${file}), not a catalog model: there is nothing to pull. ` +
        "Set it to a catalog id such as `qwen2.5-coder-0.5b` to pull one.",
    );
    return;
  }
  const command = options.findServer();
  if (!command) return;
  const args = pullArgs(model);
  const label = model ?? "the default model";
  const { output } = options;
  output.appendLine(`[gloss] ${command} ${args.join(" ")}`);

  const outcome = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `gloss: pulling ${label}`,
      cancellable: true,
    },
    (progress, token) =>
      new Promise<Outcome>((resolve) => {
        const child = spawn(command, args, { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
        const stderrTail: string[] = [];
        let stdout = "";
        let reported = 0;
        let cancelled = false;
        let pending = "";
        token.onCancellationRequested(() => {
          cancelled = true;
          child.kill("SIGTERM");
        });
        child.stdout.setEncoding("utf8");
        child.stdout.on("data", (chunk: string) => {
          stdout += chunk;
          output.append(chunk);
        });
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (chunk: string) => {
          pending += chunk;
          const lines = pending.split(/\r?\n|\r/);
          pending = lines.pop() ?? "";
          for (const line of lines) {
            if (line.trim() === "") continue;
            output.appendLine(line);
            stderrTail.push(line);
            if (stderrTail.length > 5) stderrTail.shift();
            const p = parsePullProgress(line);
            if (p) {
              const increment = Math.max(0, p.percent - reported);
              reported = Math.max(reported, p.percent);
              progress.report({ increment, message: line.replace(/^[^:]*:\s*/, "") });
            } else {
              progress.report({ message: line.replace(/^pulling [^:]*:\s*/, "") });
            }
          }
        });
        child.on("error", (spawnError) => {
          resolve({ code: null, signal: null, stderrTail, stdout, spawnError, cancelled });
        });
        child.on("close", (code, signal) => {
          if (pending.trim() !== "") {
            output.appendLine(pending);
            stderrTail.push(pending);
          }
          resolve({ code, signal, stderrTail, stdout, cancelled });
        });
      }),
  );

  if (outcome.cancelled) {
    void vscode.window.showWarningMessage(`gloss: pulling ${label} was cancelled.`);
    return;
  }
  if (outcome.spawnError || outcome.code !== 0) {
    const why = outcome.spawnError
      ? `could not run ${command}: ${outcome.spawnError.message}`
      : (outcome.stderrTail.filter((l) => !parsePullProgress(l)).pop() ??
        `gloss models pull exited with ${outcome.signal ?? `code ${outcome.code}`}`);
    const showOutput = "Show Output";
    const picked = await vscode.window.showErrorMessage(`gloss: pulling ${label} failed: ${why.replace(/^error:\s*/, "")}`, showOutput);
    if (picked === showOutput) output.show(true);
    return;
  }
  const already = outcome.stderrTail.some((l) => l.includes("already pulled"));
  const where = outcome.stdout.trim().split(/\r?\n/).pop() ?? "";
  void vscode.window.showInformationMessage(
    already ? `gloss: ${label} is already pulled (${where}).` : `gloss: ${label} is ready (${where}).`,
  );
  if (!already) await options.onPulled();
}

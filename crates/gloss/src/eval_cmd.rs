//! `gloss eval FILE.jsonl`: explains every case of an evaluation set and reports how close each
//! summary comes to the authors' own doc text, how many quoted names exist, length and time.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use gloss_eval::{
    CaseOutcome, Embedder, PromptStyle, ensure_files, evaluate_case, read_cases, summarize,
};
use gloss_explain::{ExplanationKind, Level};
use gloss_model::catalog::{Catalog, Progress, resolve_model};
use gloss_model::{GenerateParams, ModelWorker};
use serde_json::json;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The cases: one JSON object a line with id, lang, name, code and reference.
    file: PathBuf,
    /// A catalog id or a GGUF file (default: the default model).
    #[arg(long)]
    model: Option<String>,
    /// `gloss` (the product's prompt, grounding check and hover shape) or `plain` (the baseline:
    /// "Explain this code", the answer as it comes).
    #[arg(long, default_value = "gloss")]
    prompt: PromptStyle,
    /// `hover`, `full` (scored by its summary, like the hover) or `doc-comment` (scored by its
    /// first sentence).
    #[arg(long, default_value = "hover")]
    kind: ExplanationKind,
    #[arg(long, default_value = "standard")]
    level: Level,
    /// Only the first N cases.
    #[arg(long)]
    limit: Option<usize>,
    /// Tokens to generate per case (default: the kind's bound).
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Tokens drafted from the prompt per step (0: plain one-token decoding; the answer is the
    /// same either way, only the time differs).
    #[arg(long, default_value_t = gloss_model::DEFAULT_DRAFT_TOKENS)]
    draft_tokens: usize,
    /// Write every case's explanation and figures to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Never download; fail if a model is not pulled.
    #[arg(long)]
    offline: bool,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let mut cases = read_cases(&args.file)?;
    if let Some(limit) = args.limit {
        cases.truncate(limit);
    }
    let model_spec = args
        .model
        .unwrap_or_else(|| Catalog::builtin().default_entry().id.clone());
    let resolved = resolve_model(&model_spec, args.offline, Progress::Auto)?;
    let (weights, vocab) = ensure_files(args.offline)?;
    let embedder = Embedder::load(&weights, &vocab)?;
    let worker = ModelWorker::spawn(resolved.path.clone());
    worker.wait_ready()?;
    let max_tokens = args.max_tokens.unwrap_or(args.kind.default_max_tokens());
    let params = GenerateParams {
        max_tokens,
        draft_tokens: args.draft_tokens,
        ..GenerateParams::default()
    };
    eprintln!(
        "gloss eval: {} cases, model {}, prompt {:?}, kind {}, level {}",
        cases.len(),
        resolved.id,
        args.prompt,
        args.kind.identifier(),
        args.level.identifier()
    );
    let mut outcomes: Vec<CaseOutcome> = Vec::new();
    for case in &cases {
        let outcome = evaluate_case(
            case,
            &worker,
            &embedder,
            args.prompt,
            args.kind,
            args.level,
            &params,
        )?;
        eprintln!(
            "{:<8} {:<28} similarity {:.3}  words {:>3}  quoted {:>2}  unknown {:<24} {:>5.1}s",
            outcome.id,
            truncate(&outcome.name, 28),
            outcome.similarity,
            outcome.words,
            outcome.quoted,
            truncate(&outcome.unknown_before_check.join(","), 24),
            outcome.seconds
        );
        outcomes.push(outcome);
    }
    worker.shutdown();
    let summary = summarize(&outcomes);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| model | prompt | kind | level | cases | summary similarity | quoted names that exist (before check) | words max / mean | defining sentences per case | s per case (median) | draft accepted per step | prompt reused |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    writeln!(
        out,
        "| {} | {:?} | {} | {} | {} | {:.3} | {:.1}% ({:.1}%) of {} | {} / {:.0} | {:.2} | {:.2} ({:.2}) | {:.2} | {:.0}% |",
        resolved.id,
        args.prompt,
        args.kind.identifier(),
        args.level.identifier(),
        summary.cases,
        summary.mean_similarity,
        summary.grounded_share * 100.0,
        summary.grounded_share_before_check * 100.0,
        summary.quoted,
        summary.max_words,
        summary.mean_words,
        summary.mean_definitions,
        summary.mean_seconds,
        summary.median_seconds,
        summary.accepted_per_step,
        summary.reused_prompt_share * 100.0
    )?;
    if let Some(path) = &args.json {
        let object = json!({
            "model": { "id": resolved.id, "sha256": resolved.sha256 },
            "prompt": args.prompt,
            "kind": args.kind.identifier(),
            "level": args.level.identifier(),
            "max_tokens": max_tokens,
            "summary": summary,
            "cases": outcomes,
        });
        std::fs::write(path, format!("{object:#}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

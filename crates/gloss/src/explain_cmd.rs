//! `gloss explain PATH:LINE[:COL]`: the same explanation an editor shows, on the command line.

use std::io::Write;

use anyhow::{Context as _, bail};
use gloss_explain::service::Generator;
use gloss_explain::{
    ExplanationKind, Level, PreparedExplanation, drop_ungrounded, finished_text, prepare,
    shape_answer,
};
use gloss_model::catalog::{Catalog, Progress, resolve_model};
use gloss_model::{CancelToken, GenerateParams, Job, JobEvent, ModelWorker, Priority, StopReason};
use gloss_syntax::{Document, Language, PickOptions, Position, PositionEncoding, pick_at};
use serde_json::json;

use crate::backend_args::BackendArgs;
use crate::location::Location;

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// Where to look: PATH:LINE or PATH:LINE:COL, both 1-based.
    location: Location,
    /// A model id from `gloss models list`, or the path of any GGUF file.
    #[arg(long)]
    model: Option<String>,
    /// Stop after this many generated tokens.
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Never download: fail if the model is not already pulled.
    #[arg(long)]
    offline: bool,
    /// Show the picked region and the exact prompt, without loading a model.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// How much the reader is assumed to know: beginner, standard or expert.
    #[arg(long, default_value = "standard")]
    level: Level,
    /// The long explanation (as the editor's "Explain" action gives) instead of the hover.
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<()> {
    let kind = if args.full {
        ExplanationKind::Full
    } else {
        ExplanationKind::Hover
    };
    let prepared = prepare_at(&args.location, kind, args.level)?;
    let region = &prepared.region;
    let region_json = json!({
        "kind": region.kind.identifier(),
        "name": region.name,
        "start_line": region.start_line + 1,
        "end_line": region.end_line + 1,
    });
    let remote = args.backend.remote()?;
    if remote.is_some() && args.model.is_some() {
        bail!(
            "--model names a local model; with --backend openai, name the model with --remote-model"
        );
    }
    let model_spec = match &remote {
        Some(remote) => remote.identity().id,
        None => args
            .model
            .clone()
            .unwrap_or_else(|| Catalog::builtin().default_entry().id.clone()),
    };

    if args.dry_run {
        let prompt = prepared.prompt().render();
        let known = Catalog::builtin().get(&model_spec).ok();
        if args.json {
            let object = json!({
                "region": region_json,
                "model": { "id": model_spec, "sha256": known.map(|entry| entry.sha256.clone()) },
                "prompt": prompt,
                "prompt_tokens": null,
                "generated_tokens": null,
                "prefill_seconds": null,
                "generate_seconds": null,
            });
            writeln!(std::io::stdout().lock(), "{object:#}")?;
        } else {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", describe_region(&prepared, &args.location))?;
            writeln!(out, "--- prompt for {model_spec} ---")?;
            write!(out, "{prompt}")?;
            writeln!(out)?;
        }
        return Ok(());
    }

    let (model_json, generator): (serde_json::Value, Box<dyn Generator>) = match remote {
        Some(remote) => {
            let identity = remote.identity();
            let target = remote.target();
            let model = json!({
                "id": identity.id,
                "sha256": identity.sha256,
                "backend": "openai",
                "endpoint": target.endpoint,
                "remote_model": target.model,
            });
            (model, Box::new(remote))
        }
        None => {
            let progress = if args.json {
                Progress::Lines
            } else {
                Progress::Auto
            };
            let resolved = resolve_model(&model_spec, args.offline, progress)?;
            let worker = ModelWorker::spawn(resolved.path.clone());
            worker.wait_ready()?;
            let model = json!({ "id": resolved.id, "sha256": resolved.sha256 });
            (model, Box::new(worker))
        }
    };
    if !args.json {
        eprintln!(
            "gloss: {} with {}",
            describe_region(&prepared, &args.location),
            model_json["id"].as_str().unwrap_or_default()
        );
    }
    let events = generator.submit(Job {
        prompt: prepared.prompt(),
        params: GenerateParams {
            max_tokens: args.max_tokens.unwrap_or(kind.default_max_tokens()),
            ..GenerateParams::default()
        },
        priority: Priority::Command,
        cancel: CancelToken::new(),
    });
    let mut out = std::io::stdout().lock();
    let generation = loop {
        match events.recv() {
            // A hover is reshaped once complete, so only the long form streams.
            Ok(JobEvent::Text(text)) if !args.json && kind == ExplanationKind::Full => {
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
            Ok(JobEvent::Finished(outcome)) => break outcome?,
            Ok(_) => {}
            Err(_) => bail!("the model thread stopped without an answer"),
        }
    };
    generator.shutdown();
    tracing::debug!(raw = %generation.text, "model answer before shaping");
    let grounded = drop_ungrounded(kind, &finished_text(&generation), &prepared.known_names);
    let answer = shape_answer(kind, &grounded.text);
    if args.json {
        let object = json!({
            "region": region_json,
            "model": model_json,
            "explanation": answer,
            "unknown_names": grounded.before.unknown,
            "prompt_tokens": generation.prompt_tokens,
            "generated_tokens": generation.generated_tokens,
            "prefill_seconds": generation.prefill_seconds,
            "generate_seconds": generation.generate_seconds,
        });
        writeln!(out, "{object:#}")?;
    } else {
        if kind == ExplanationKind::Full {
            writeln!(out)?;
            // What streamed holds the start of the loop; the answer kept (and cached) does not.
            if generation.stop_reason == StopReason::Loop {
                eprintln!("gloss: the model began repeating itself, so the answer ends there");
            }
            // The long form streamed as it came: say which quoted names the code does not have.
            if !grounded.before.unknown.is_empty() {
                eprintln!(
                    "gloss: the explanation quotes names that are not in the code or its context: {}",
                    grounded.before.unknown.join(", ")
                );
            }
        } else {
            writeln!(out, "{answer}")?;
        }
        eprintln!(
            "gloss: {} prompt tokens in {:.2}s, {} generated in {:.2}s",
            generation.prompt_tokens,
            generation.prefill_seconds,
            generation.generated_tokens,
            generation.generate_seconds
        );
    }
    Ok(())
}

fn describe_region(prepared: &PreparedExplanation, location: &Location) -> String {
    let region = &prepared.region;
    let name = region
        .name
        .as_deref()
        .map(|name| format!(" `{name}`"))
        .unwrap_or_default();
    format!(
        "{}{} at {}:{}-{}",
        region.kind.title(),
        name,
        location.path.display(),
        region.start_line + 1,
        region.end_line + 1
    )
}

/// Reads the file and picks the region, with an error for each way that can fail that says what
/// to do about it.
fn prepare_at(
    location: &Location,
    kind: ExplanationKind,
    level: Level,
) -> anyhow::Result<PreparedExplanation> {
    let path = &location.path;
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let language = Language::from_path(path).with_context(|| {
        format!(
            "{} is not a language gloss knows (supported: {})",
            path.display(),
            Language::ALL.map(Language::title).join(", ")
        )
    })?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not valid UTF-8 (first bad byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let document = Document::new(language, text, 0);
    let line_count = document.line_count();
    let line = location.line - 1;
    if line as usize >= line_count {
        bail!(
            "line {} is past the end of {} ({} lines)",
            location.line,
            path.display(),
            line_count
        );
    }
    let character = match location.column {
        Some(column) => column - 1,
        None => first_non_blank(&document, line),
    };
    let offset = document.offset_at(Position { line, character }, PositionEncoding::Utf32);
    if let Some(why) = document.why_unparsed() {
        anyhow::bail!("{}: {why}", path.display());
    }
    let region = pick_at(&document, offset, &PickOptions::default()).with_context(|| {
        format!(
            "nothing to explain at {}:{}: no function, class or statement there (try the line of a function's body)",
            path.display(),
            location.line
        )
    })?;
    Ok(prepare(&document, region, &[], kind, level))
}

fn first_non_blank(document: &Document, line: u32) -> u32 {
    let start = document.offset_at(Position { line, character: 0 }, PositionEncoding::Utf8);
    let rest = &document.text()[start..];
    let line_text = rest.split(['\n', '\r']).next().unwrap_or("");
    line_text.chars().take_while(|c| c.is_whitespace()).count() as u32
}

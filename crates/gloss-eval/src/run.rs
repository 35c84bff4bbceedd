//! Explaining every case with one model and scoring each answer.

use std::time::Instant;

use anyhow::{Context as _, bail};
use gloss_explain::grounding::{KnownNames, check, drop_ungrounded};
use gloss_explain::{ExplanationKind, Level, finished_text, prepare, shape_answer};
use gloss_model::{
    CancelToken, DraftStats, GenerateParams, Job, JobEvent, Message, ModelWorker, Priority, Prompt,
};
use gloss_syntax::{Document, PickOptions, pick_at};
use serde::Serialize;

use crate::cases::Case;
use crate::embedder::{Embedder, dot};
use crate::metrics::{
    defining_sentences, doc_comment_summary, median, summary_candidates, word_count,
};

/// How the model is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptStyle {
    /// The product: context, format instructions, the doc-comment lead, grounding check and
    /// hover shaping.
    Gloss,
    /// The product without the doc-comment lead (`gloss_explain::lead`), to measure what it wins.
    GlossUnled,
    /// The baseline: "Explain this code" and the code, the answer taken as it comes.
    Plain,
}

impl std::str::FromStr for PromptStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gloss" => Ok(PromptStyle::Gloss),
            "plain" => Ok(PromptStyle::Plain),
            "gloss-unled" => Ok(PromptStyle::GlossUnled),
            other => Err(format!(
                "unknown prompt style `{other}` (expected gloss, gloss-unled or plain)"
            )),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseOutcome {
    pub id: String,
    pub name: String,
    pub reference: String,
    /// What the reader sees: the shaped hover (gloss) or the whole answer (plain).
    pub text: String,
    /// The candidate sentence closest to the reference (a doc comment's: its first sentence).
    pub summary: String,
    pub similarity: f32,
    /// Quoted identifiers in `text`, and those of them the code and context do not have.
    pub quoted: usize,
    pub unknown: Vec<String>,
    /// Unknown identifiers in the model's own answer, before the grounding check dropped claims.
    pub unknown_before_check: Vec<String>,
    pub quoted_before_check: usize,
    pub words: usize,
    /// Sentences that tell the reader what a term is (see `defining_sentences`).
    pub definitions: usize,
    pub seconds: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub reused_prompt_tokens: usize,
    pub draft: DraftStats,
    /// The model's answer before any checking or shaping.
    pub raw: String,
    /// The exact prompt text (ChatML), for running the same request through another engine.
    pub prompt: String,
}

/// The prompt for one case and the names its answer may quote.
pub fn prepare_case(
    case: &Case,
    style: PromptStyle,
    kind: ExplanationKind,
    level: Level,
) -> anyhow::Result<(Prompt, KnownNames)> {
    let language = case.language()?;
    let document = Document::new(language, case.code.clone(), 0);
    let offset = case
        .code
        .find(&case.name)
        .with_context(|| format!("case {}: `{}` is not in its code", case.id, case.name))?;
    let region = pick_at(&document, offset, &PickOptions::default())
        .with_context(|| format!("case {}: nothing to explain at `{}`", case.id, case.name))?;
    let prepared = prepare(&document, region, &[], kind, level);
    let known = (*prepared.known_names).clone();
    let prompt = match style {
        PromptStyle::Gloss => prepared.prompt(),
        PromptStyle::GlossUnled => Prompt::Chat(prepared.messages),
        PromptStyle::Plain => Prompt::Chat(vec![Message::user(format!(
            "Explain this code:\n```{}\n{}\n```",
            language.identifier(),
            case.code.trim_end()
        ))]),
    };
    Ok((prompt, known))
}

pub fn evaluate_case(
    case: &Case,
    worker: &ModelWorker,
    embedder: &Embedder,
    style: PromptStyle,
    kind: ExplanationKind,
    level: Level,
    params: &GenerateParams,
) -> anyhow::Result<CaseOutcome> {
    let (prompt, known) = prepare_case(case, style, kind, level)?;
    let rendered = prompt.render();
    let started = Instant::now();
    let events = worker.submit(Job {
        prompt,
        params: params.clone(),
        priority: Priority::Command,
        cancel: CancelToken::new(),
    });
    let generation = loop {
        match events.recv() {
            Ok(JobEvent::Finished(outcome)) => break outcome?,
            Ok(_) => {}
            Err(_) => bail!("the model thread stopped without an answer"),
        }
    };
    let raw = generation.text.trim();
    let before = check(raw, &known);
    let text = match style {
        PromptStyle::Gloss | PromptStyle::GlossUnled => {
            let finished = finished_text(&generation);
            let grounded = drop_ungrounded(kind, &finished, &known);
            shape_answer(kind, &grounded.text)
        }
        PromptStyle::Plain => raw.to_owned(),
    };
    let seconds = started.elapsed().as_secs_f64();
    let report = check(&text, &known);
    let reference = embedder.embed(&case.reference)?;
    let mut summary = String::new();
    let mut similarity = 0.0f32;
    // A doc comment is judged by its summary line alone, as `pydoc` and rustdoc's index show it.
    let candidates = match (style, kind) {
        (PromptStyle::Gloss | PromptStyle::GlossUnled, ExplanationKind::DocComment) => {
            doc_comment_summary(&text).into_iter().collect()
        }
        _ => summary_candidates(&text),
    };
    for candidate in candidates {
        let score = dot(&embedder.embed(&candidate)?, &reference);
        if summary.is_empty() || score > similarity {
            similarity = score;
            summary = candidate;
        }
    }
    Ok(CaseOutcome {
        id: case.id.clone(),
        name: case.name.clone(),
        reference: case.reference.clone(),
        words: word_count(&text),
        definitions: defining_sentences(&text),
        text,
        summary,
        similarity,
        quoted: report.quoted,
        unknown: report.unknown,
        unknown_before_check: before.unknown,
        quoted_before_check: before.quoted,
        seconds,
        prompt_tokens: generation.prompt_tokens,
        generated_tokens: generation.generated_tokens,
        reused_prompt_tokens: generation.reused_prompt_tokens,
        draft: generation.draft,
        raw: raw.to_owned(),
        prompt: rendered,
    })
}

/// The figures of a whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub cases: usize,
    pub mean_similarity: f64,
    /// Share of quoted identifiers that exist, over all cases (1.0 when none were quoted).
    pub grounded_share: f64,
    pub grounded_share_before_check: f64,
    pub quoted: usize,
    pub max_words: usize,
    pub mean_words: f64,
    pub mean_definitions: f64,
    /// Quoted identifiers per case.
    pub mean_quoted: f64,
    pub mean_seconds: f64,
    pub median_seconds: f64,
    /// Drafted tokens accepted per verifying pass.
    pub accepted_per_step: f64,
    pub reused_prompt_share: f64,
}

pub fn summarize(outcomes: &[CaseOutcome]) -> Summary {
    let n = outcomes.len().max(1) as f64;
    let quoted: usize = outcomes.iter().map(|o| o.quoted).sum();
    let unknown: usize = outcomes.iter().map(|o| o.unknown.len()).sum();
    let quoted_before: usize = outcomes.iter().map(|o| o.quoted_before_check).sum();
    let unknown_before: usize = outcomes.iter().map(|o| o.unknown_before_check.len()).sum();
    let share = |unknown: usize, quoted: usize| {
        if quoted == 0 {
            1.0
        } else {
            (quoted - unknown.min(quoted)) as f64 / quoted as f64
        }
    };
    Summary {
        cases: outcomes.len(),
        mean_similarity: outcomes.iter().map(|o| o.similarity as f64).sum::<f64>() / n,
        grounded_share: share(unknown, quoted),
        grounded_share_before_check: share(unknown_before, quoted_before),
        quoted,
        max_words: outcomes.iter().map(|o| o.words).max().unwrap_or(0),
        mean_words: outcomes.iter().map(|o| o.words as f64).sum::<f64>() / n,
        mean_definitions: outcomes.iter().map(|o| o.definitions as f64).sum::<f64>() / n,
        mean_quoted: quoted as f64 / n,
        mean_seconds: outcomes.iter().map(|o| o.seconds).sum::<f64>() / n,
        median_seconds: median(&mut outcomes.iter().map(|o| o.seconds).collect::<Vec<_>>()),
        accepted_per_step: {
            let steps: usize = outcomes.iter().map(|o| o.draft.verify_steps).sum();
            let accepted: usize = outcomes.iter().map(|o| o.draft.accepted).sum();
            accepted as f64 / steps.max(1) as f64
        },
        reused_prompt_share: {
            let reused: usize = outcomes.iter().map(|o| o.reused_prompt_tokens).sum();
            let prompt: usize = outcomes.iter().map(|o| o.prompt_tokens).sum();
            reused as f64 / prompt.max(1) as f64
        },
    }
}

//! `workspace/executeCommand`: the full explanation (opened as a markdown document), the doc comment
//! (applied as a versioned edit), and regeneration, each with work-done progress by tokens.
//!
//! Editors discard the command's result, so what the user sees goes through `window/showDocument`,
//! `window/showMessage` and `workspace/applyEdit`; the result (a JSON object) serves scripts and
//! tests.

use std::collections::HashMap;

use gloss_explain::ExplanationKind;
use gloss_explain::cache::CachedExplanation;
use gloss_explain::service::{CancelReason, ExplainError, Update};
use gloss_model::Priority;
use gloss_syntax::{PickOptions, Region, pick_at, pick_selection};
use serde_json::json;
use tower_lsp_server::ls_types as lsp;

use super::InvalidParams;
use crate::commands::{ActionKind, Command, CommandArgs};
use crate::convert;
use crate::doc_comment;
use crate::documents::OpenDocument;
use crate::explain::{self, Asked, Prepared};
use crate::progress::Reporter;
use crate::render;
use crate::session::Snapshot;

pub async fn execute_command(
    snapshot: Snapshot,
    params: lsp::ExecuteCommandParams,
) -> anyhow::Result<Option<lsp::LSPAny>> {
    let command: Command = params
        .command
        .parse()
        .map_err(|error: String| InvalidParams(error))?;
    if matches!(command, Command::TestPanic | Command::TestStats) {
        if !snapshot.session.options.test_commands {
            return Err(InvalidParams(format!("unknown command `{}`", params.command)).into());
        }
        if command == Command::TestPanic {
            panic!("gloss.test.panic was executed");
        }
        let service = &snapshot.session.service;
        return Ok(Some(json!({
            "inFlight": service.in_flight(),
            "cacheEntries": service.cache().memory_len(),
        })));
    }
    let args = CommandArgs::from_arguments(&params.arguments)
        .map_err(|error| InvalidParams(format!("{}: {error}", command.identifier())))?;
    let Some(open) = snapshot.session.documents.get(&args.uri) else {
        return Err(InvalidParams(format!("{} is not open", args.uri.as_str())).into());
    };
    let Some(bytes) = convert::bytes(&open.document, args.range, snapshot.encoding) else {
        return Err(InvalidParams("the range is past the end of the document".into()).into());
    };
    if open.version != args.version && command.kind() == ActionKind::DocComment {
        show(
            &snapshot,
            lsp::MessageType::WARNING,
            "the document changed since this action was offered; ask for it again",
        )
        .await;
        return Ok(None);
    }
    let region = match command {
        Command::ExplainSelection => pick_selection(&open.document, bytes),
        _ => pick_at(&open.document, bytes.start, &PickOptions::default()),
    };
    let Some(region) = region else {
        let why = open.document.why_unparsed();
        let message = why.as_deref().unwrap_or("nothing to explain there");
        show(&snapshot, lsp::MessageType::INFO, message).await;
        return Ok(None);
    };
    let engine = match explain::engine(&snapshot).await {
        Ok(engine) => engine,
        Err(hint) => {
            show(&snapshot, lsp::MessageType::ERROR, &hint).await;
            return Ok(None);
        }
    };
    let (kind, refresh) = match command {
        Command::Explain | Command::ExplainSelection => (ExplanationKind::Full, false),
        Command::Regenerate => (ExplanationKind::Hover, true),
        _ => (ExplanationKind::DocComment, false),
    };
    let site = if kind == ExplanationKind::DocComment {
        match doc_comment::site(&open.document, &region) {
            Some(site) if site.has_doc() && command == Command::AddDocComment => {
                // Never overwrite the user's own text without being asked to.
                show(
                    &snapshot,
                    lsp::MessageType::INFO,
                    &format!(
                        "{} already has a doc comment: use \"Replace doc comment\"",
                        subject(&region)
                    ),
                )
                .await;
                return Ok(None);
            }
            Some(site) => Some(site),
            None => {
                show(
                    &snapshot,
                    lsp::MessageType::INFO,
                    &format!("{} cannot take a doc comment", subject(&region)),
                )
                .await;
                return Ok(None);
            }
        }
    } else {
        None
    };
    let prepared = explain::prepare(
        &snapshot,
        engine,
        open.clone(),
        region,
        kind,
        Priority::Command,
        refresh,
    )
    .await?;
    let Some((explanation, cached)) = generate(&snapshot, command, &prepared).await? else {
        return Ok(None);
    };
    let region = &prepared.prepared.region;
    match command {
        Command::Explain | Command::ExplainSelection => {
            show_document(
                &snapshot,
                &open.uri,
                region,
                &prepared,
                &explanation,
                cached,
            )
            .await
        }
        Command::Regenerate => {
            show(
                &snapshot,
                lsp::MessageType::INFO,
                &format!(
                    "regenerated the explanation of {}; hover to read it",
                    subject(region)
                ),
            )
            .await;
            Ok(Some(
                json!({ "markdown": render::hover_body(&explanation), "cached": false }),
            ))
        }
        _ => {
            let site = site.expect("doc comment commands have a site");
            apply_doc_comment(&snapshot, &open, region, &site, &explanation, cached).await
        }
    }
}

/// Writes the comment into the document version the action was offered for, if it is still the
/// current one, with a versioned `workspace/applyEdit`.
async fn apply_doc_comment(
    snapshot: &Snapshot,
    open: &OpenDocument,
    region: &Region,
    site: &doc_comment::Site,
    explanation: &CachedExplanation,
    cached: bool,
) -> anyhow::Result<Option<lsp::LSPAny>> {
    let current = snapshot.session.documents.get(&open.uri);
    if current.as_ref().map(|doc| doc.version) != Some(open.version) {
        show(
            snapshot,
            lsp::MessageType::WARNING,
            &format!(
                "{} changed while its doc comment was written; run the action again",
                subject(region)
            ),
        )
        .await;
        return Ok(None);
    }
    let code = open
        .document
        .text()
        .get(region.byte_range.clone())
        .unwrap_or_default();
    let edit = doc_comment::edit(&open.document, site, code, &explanation.text);
    if !snapshot.features.apply_edit {
        // A client that cannot apply edits still gets the comment, to paste by hand.
        show(
            snapshot,
            lsp::MessageType::INFO,
            &format!("doc comment for {}:\n{}", subject(region), edit.text),
        )
        .await;
        return Ok(Some(
            json!({ "applied": false, "text": edit.text, "cached": cached }),
        ));
    }
    let text_edit = lsp::TextEdit {
        range: convert::lsp_range(&open.document, edit.replaced.clone(), snapshot.encoding),
        new_text: edit.text.clone(),
    };
    let workspace_edit = if snapshot.features.document_changes {
        lsp::WorkspaceEdit {
            document_changes: Some(lsp::DocumentChanges::Edits(vec![lsp::TextDocumentEdit {
                text_document: lsp::OptionalVersionedTextDocumentIdentifier {
                    uri: open.uri.clone(),
                    version: Some(open.version),
                },
                edits: vec![lsp::OneOf::Left(text_edit)],
            }])),
            ..Default::default()
        }
    } else {
        lsp::WorkspaceEdit {
            changes: Some(HashMap::from([(open.uri.clone(), vec![text_edit])])),
            ..Default::default()
        }
    };
    let response = snapshot.session.client.apply_edit(workspace_edit).await?;
    if !response.applied {
        let reason = response
            .failure_reason
            .unwrap_or_else(|| "no reason given".into());
        show(
            snapshot,
            lsp::MessageType::WARNING,
            &format!("the editor did not apply the doc comment: {reason}"),
        )
        .await;
    }
    Ok(Some(
        json!({ "applied": response.applied, "text": edit.text, "cached": cached }),
    ))
}

/// Runs the generation with progress; `None` when it was cancelled or failed (the user was told).
async fn generate(
    snapshot: &Snapshot,
    command: Command,
    prepared: &Prepared,
) -> anyhow::Result<Option<(std::sync::Arc<CachedExplanation>, bool)>> {
    let mut ticket = match explain::ask(snapshot, prepared) {
        Asked::Cached(found) => return Ok(Some((found, true))),
        Asked::Unavailable(hint) => {
            show(snapshot, lsp::MessageType::ERROR, &hint).await;
            return Ok(None);
        }
        Asked::Pending(ticket) => ticket,
    };
    let mut progress = Reporter::begin(
        &snapshot.session.client,
        snapshot.features.work_done_progress,
        snapshot.features.progress_title(command.progress_title()),
        Some(subject(&prepared.prepared.region)),
        Some(snapshot.session.progress_cancels.clone()),
    )
    .await;
    let cancelled = progress.as_ref().map(|p| p.cancelled.clone());
    let outcome = loop {
        let update = match &cancelled {
            Some(cancelled) => tokio::select! {
                update = ticket.update() => update,
                () = cancelled.notified() => Update::Done(Err(ExplainError::Cancelled(CancelReason::Abandoned))),
            },
            None => ticket.update().await,
        };
        match update {
            Update::Progress {
                generated,
                max_tokens,
            } => {
                if let Some(progress) = &mut progress {
                    progress.report(generated, max_tokens, None).await;
                }
            }
            Update::Done(outcome) => break outcome,
        }
    };
    drop(ticket);
    match outcome {
        Ok(found) => {
            if let Some(progress) = progress {
                progress.end(Some("done".into())).await;
            }
            Ok(Some((found, false)))
        }
        Err(error) => {
            if let Some(progress) = progress {
                progress.end(Some("stopped".into())).await;
            }
            let (kind, text) = match &error {
                ExplainError::Cancelled(CancelReason::Edited) => (
                    lsp::MessageType::INFO,
                    format!(
                        "stopped explaining {}: the code changed",
                        subject(&prepared.prepared.region)
                    ),
                ),
                ExplainError::Cancelled(_) => (lsp::MessageType::INFO, "cancelled".to_owned()),
                ExplainError::Model(hint) => (lsp::MessageType::ERROR, hint.clone()),
                ExplainError::Empty => (
                    lsp::MessageType::WARNING,
                    "the model gave an empty answer; try \"Regenerate\"".to_owned(),
                ),
            };
            show(snapshot, kind, &text).await;
            Ok(None)
        }
    }
}

/// Writes the full explanation under the cache directory and opens it beside the code; a client
/// that cannot show documents gets it as a message.
async fn show_document(
    snapshot: &Snapshot,
    uri: &lsp::Uri,
    region: &Region,
    prepared: &Prepared,
    explanation: &CachedExplanation,
    cached: bool,
) -> anyhow::Result<Option<lsp::LSPAny>> {
    let file_name = uri
        .to_file_path()
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| uri.as_str().to_owned());
    let location = format!(
        "{file_name}:{}-{}",
        region.start_line + 1,
        region.end_line + 1
    );
    let markdown = render::document(
        region.name.as_deref(),
        region.kind.title(),
        &location,
        explanation,
        cached,
    );
    let name = region.name.as_deref().unwrap_or(region.kind.identifier());
    let written = snapshot
        .session
        .service
        .cache()
        .write_document(name, &prepared.key, &markdown);
    let document_uri = match &written {
        Ok(path) => lsp::Uri::from_file_path(path),
        Err(error) => {
            tracing::warn!(%error, "cannot write the explanation document");
            None
        }
    };
    let mut shown = false;
    if snapshot.features.show_document
        && let Some(document_uri) = &document_uri
    {
        let params = lsp::ShowDocumentParams {
            uri: document_uri.clone(),
            external: Some(false),
            take_focus: Some(true),
            selection: None,
        };
        shown = match snapshot.session.client.show_document(params).await {
            Ok(success) => success,
            Err(error) => {
                tracing::warn!(%error, "window/showDocument failed");
                false
            }
        };
    }
    if !shown {
        snapshot
            .session
            .client
            .show_message(lsp::MessageType::INFO, markdown.clone())
            .await;
    }
    Ok(Some(json!({
        "markdown": markdown,
        "uri": document_uri.map(|uri| uri.as_str().to_owned()),
        "shown": shown,
        "cached": cached,
    })))
}

fn subject(region: &Region) -> String {
    match &region.name {
        Some(name) => format!("`{name}`"),
        None => format!("this {}", region.kind.title().to_lowercase()),
    }
}

async fn show(snapshot: &Snapshot, kind: lsp::MessageType, text: &str) {
    snapshot
        .session
        .client
        .show_message(kind, format!("gloss: {text}"))
        .await;
}

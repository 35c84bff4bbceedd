//! `textDocument/codeAction`: the explain and doc-comment actions, returned at once.
//!
//! Every action carries a command; the model runs only when the command is executed, never here
//! (and never in `codeAction/resolve`, which blocks Helix's UI).

use gloss_syntax::{PickOptions, pick_at, pick_selection};
use tower_lsp_server::ls_types as lsp;

use crate::commands::{Command, CommandArgs};
use crate::config::LogLevel;
use crate::convert;
use crate::doc_comment;
use crate::session::Snapshot;

pub async fn code_action(
    snapshot: Snapshot,
    params: lsp::CodeActionParams,
) -> anyhow::Result<Option<lsp::CodeActionResponse>> {
    let uri = params.text_document.uri;
    let session = &snapshot.session;
    let Some(open) = session.documents.get(&uri) else {
        session
            .log(
                LogLevel::Info,
                format!("code actions in {} which is not open", uri.as_str()),
            )
            .await;
        return Ok(None);
    };
    if super::too_large_to_explain(session, &uri, open.document.text().len()).await {
        return Ok(None);
    }
    let Some(bytes) = convert::bytes(&open.document, params.range, snapshot.encoding) else {
        session
            .log(
                LogLevel::Warn,
                format!("code action range is past the end of {}", uri.as_str()),
            )
            .await;
        return Ok(None);
    };
    session.cursors.insert(uri.clone(), bytes.start);
    let only = params.context.only.as_deref();
    let args = CommandArgs {
        uri: uri.clone(),
        range: params.range,
        version: open.version,
    };
    let mut actions = Vec::new();
    let mut push = |command: Command, name: Option<&str>| {
        if command.kind().admitted_by(only) {
            actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: command.action_title(name),
                kind: Some(command.kind().lsp()),
                command: Some(args.to_lsp(command, name)),
                ..Default::default()
            }));
        }
    };
    let picked = pick_at(&open.document, bytes.start, &PickOptions::default());
    if let Some(region) = &picked {
        push(Command::Explain, region.name.as_deref());
    }
    // Helix's cursor is itself a one-character selection, sent with every request: only more than
    // one character is something the user selected.
    let selected = open.document.text()[bytes.clone()].chars().nth(1).is_some();
    if selected && pick_selection(&open.document, bytes.clone()).is_some() {
        push(Command::ExplainSelection, None);
    }
    if let Some(region) = &picked
        && let Some(site) = doc_comment::site(&open.document, region)
    {
        // An existing doc comment is never overwritten by "Add": only "Replace" touches it.
        let command = if site.has_doc() {
            Command::ReplaceDocComment
        } else {
            Command::AddDocComment
        };
        push(command, region.name.as_deref());
    }
    if let Some(region) = &picked {
        push(Command::Regenerate, region.name.as_deref());
    }
    Ok(Some(actions))
}

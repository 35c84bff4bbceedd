//! `textDocument/hover`: the short explanation of the region the syntax layer picks at the cursor.
//!
//! Cache first. On a miss the hover waits for the model up to `hoverTimeoutMs`; when the budget
//! runs out it answers "Explaining `name`…" and lets the generation finish into the cache, so the
//! next hover is instant. If the client cancels the hover, the handler's future is dropped, its
//! ticket with it, and the generation stops unless someone else needs it. A hover on a region is
//! never answered `null`: when no explanation comes (another hover took the model, the code
//! changed, the grounding check emptied the answer), the hover says so.

use gloss_explain::ExplanationKind;
use gloss_explain::service::{CancelReason, ExplainError};
use gloss_model::Priority;
use gloss_syntax::{PickOptions, pick_at};
use tokio::time::Instant;
use tower_lsp_server::ls_types as lsp;

use crate::config::LogLevel;
use crate::convert;
use crate::documents::MAX_EXPLAINED_BYTES;
use crate::explain::{self, Asked};
use crate::render;
use crate::session::Snapshot;

pub async fn hover(
    snapshot: Snapshot,
    params: lsp::HoverParams,
) -> anyhow::Result<Option<lsp::Hover>> {
    let deadline = Instant::now() + snapshot.settings.hover_timeout;
    let position = params.text_document_position_params;
    let uri = position.text_document.uri;
    let session = &snapshot.session;
    let Some(open) = session.documents.get(&uri) else {
        session
            .log(
                LogLevel::Info,
                format!("hover in {} which is not open", uri.as_str()),
            )
            .await;
        return Ok(None);
    };
    let Some(offset) = convert::offset(&open.document, position.position, snapshot.encoding) else {
        session
            .log(
                LogLevel::Warn,
                format!(
                    "hover at {}:{} is past the end of {}",
                    position.position.line,
                    position.position.character,
                    uri.as_str()
                ),
            )
            .await;
        return Ok(None);
    };
    let bytes = open.document.text().len();
    if super::too_large_to_explain(session, &uri, bytes).await {
        return Ok(Some(whole_file_hover(render::too_large(
            bytes,
            MAX_EXPLAINED_BYTES,
        ))));
    }
    session.cursors.insert(uri.clone(), offset);
    let Some(region) = pick_at(&open.document, offset, &PickOptions::default()) else {
        // Without a tree nothing can be picked; say why rather than "nothing here".
        let why = open.document.why_unparsed();
        return Ok(why.map(|why| whole_file_hover(render::unparsed(&why))));
    };
    let range = convert::lsp_range(&open.document, region.byte_range.clone(), snapshot.encoding);
    let markdown = |text: String| {
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: text,
            }),
            range: Some(range),
        })
    };
    let name = region.name.clone();
    let kind_title = region.kind.title().to_owned();
    let still_explaining = || markdown(render::explaining(name.as_deref(), &kind_title));

    let engine = match tokio::time::timeout_at(deadline, explain::engine(&snapshot)).await {
        Ok(Ok(engine)) => engine,
        Ok(Err(hint)) => return Ok(markdown(render::unavailable(&hint))),
        Err(_) => return Ok(still_explaining()),
    };
    let prepared = explain::prepare(
        &snapshot,
        engine,
        open.clone(),
        region,
        ExplanationKind::Hover,
        Priority::Hover,
        false,
    )
    .await?;
    // A live hover on a region always gets an answer for it: the explanation, "Explaining…", or
    // why there is none. `null` would tell the editor there is nothing here.
    let mut asked_again = false;
    loop {
        let mut ticket = match explain::ask(&snapshot, &prepared) {
            Asked::Cached(found) => return Ok(markdown(render::hover(&found, true))),
            Asked::Unavailable(hint) => return Ok(markdown(render::unavailable(&hint))),
            Asked::Pending(ticket) => ticket,
        };
        let outcome = match tokio::time::timeout_at(deadline, ticket.wait()).await {
            Ok(outcome) => outcome,
            Err(_) => {
                ticket.detach();
                return Ok(still_explaining());
            }
        };
        let why = match outcome {
            Ok(found) => return Ok(markdown(render::hover(&found, false))),
            Err(ExplainError::Model(hint)) => return Ok(markdown(render::unavailable(&hint))),
            Err(ExplainError::Empty) => render::nothing_grounded(name.as_deref(), &kind_title),
            Err(ExplainError::Cancelled(reason)) => {
                // The model was replaced or a claim lapsed: a new generation can still answer.
                let worth_asking_again =
                    matches!(reason, CancelReason::Stopped | CancelReason::Abandoned);
                if worth_asking_again && !asked_again {
                    asked_again = true;
                    continue;
                }
                render::interrupted(name.as_deref(), &kind_title, reason)
            }
        };
        return Ok(markdown(why));
    }
}

/// A hover about the file rather than a region of it: no range.
fn whole_file_hover(markdown: String) -> lsp::Hover {
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: markdown,
        }),
        range: None,
    }
}

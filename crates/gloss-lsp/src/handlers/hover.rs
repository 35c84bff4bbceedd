//! `textDocument/hover`: the short explanation of the region the syntax layer picks at the cursor.
//!
//! Cache first. On a miss the hover waits for the model up to `hoverTimeoutMs`; when the budget
//! runs out it answers "Explaining `name`…" and lets the generation finish into the cache, so the
//! next hover is instant. If the client cancels the hover, the handler's future is dropped, its
//! ticket with it, and the generation stops unless someone else needs it.

use gloss_explain::ExplanationKind;
use gloss_explain::service::ExplainError;
use gloss_model::Priority;
use gloss_syntax::{PickOptions, pick_at};
use tokio::time::Instant;
use tower_lsp_server::ls_types as lsp;

use crate::config::LogLevel;
use crate::convert;
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
    if super::too_large_to_explain(session, &uri, open.document.text().len()).await {
        return Ok(None);
    }
    session.cursors.insert(uri.clone(), offset);
    let Some(region) = pick_at(&open.document, offset, &PickOptions::default()) else {
        return Ok(None);
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
    let mut ticket = match explain::ask(&snapshot, &prepared) {
        Asked::Cached(found) => return Ok(markdown(render::hover(&found, true))),
        Asked::Unavailable(hint) => return Ok(markdown(render::unavailable(&hint))),
        Asked::Pending(ticket) => ticket,
    };
    match tokio::time::timeout_at(deadline, ticket.wait()).await {
        Ok(Ok(found)) => Ok(markdown(render::hover(&found, false))),
        Ok(Err(ExplainError::Model(hint))) => Ok(markdown(render::unavailable(&hint))),
        // Superseded by a hover elsewhere, or the code changed under it: nothing to show.
        Ok(Err(ExplainError::Cancelled(_) | ExplainError::Empty)) => Ok(None),
        Err(_) => {
            ticket.detach();
            Ok(still_explaining())
        }
    }
}

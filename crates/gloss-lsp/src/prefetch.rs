//! Prefetch (`prefetch = "open"`): the functions of an opened document are explained in the
//! background, nearest to the cursor first (or from the top), so that hovers find them cached.
//!
//! Prefetch jobs have the lowest priority; a hover or command preempts a running one, and any
//! edit of the document cancels them all (the service does both).

use std::collections::HashSet;

use gloss_explain::ExplanationKind;
use gloss_explain::service::Lookup;
use gloss_model::Priority;
use gloss_syntax::{Document, PickOptions, Region, pick_at};
use tower_lsp_server::ls_types as lsp;

use crate::documents::MAX_EXPLAINED_BYTES;
use crate::explain;
use crate::session::Snapshot;

/// At most this many functions per document are queued: a 2,000-line module would otherwise keep
/// the model busy for an hour.
const MAX_PREFETCH: usize = 24;

/// Queues the prefetch of `uri`'s functions (returns at once).
pub fn schedule(snapshot: Snapshot, uri: lsp::Uri) {
    tokio::spawn(async move {
        if let Err(error) = run(&snapshot, &uri).await {
            tracing::debug!(%error, uri = uri.as_str(), "prefetch stopped");
        }
    });
}

async fn run(snapshot: &Snapshot, uri: &lsp::Uri) -> anyhow::Result<()> {
    let Ok(engine) = explain::engine(snapshot).await else {
        return Ok(());
    };
    let Some(open) = snapshot.session.documents.get(uri) else {
        return Ok(());
    };
    if open.document.text().len() > MAX_EXPLAINED_BYTES {
        return Ok(());
    }
    let cursor = snapshot.session.cursors.get(uri).map(|at| *at).unwrap_or(0);
    let scanned = open.clone();
    let regions = tokio::task::spawn_blocking(move || functions(&scanned.document, cursor)).await?;
    for region in regions {
        // A newer version of the document has its own prefetch (scheduled by its save).
        if snapshot.session.documents.get(uri).map(|doc| doc.version) != Some(open.version) {
            return Ok(());
        }
        let prepared = explain::prepare(
            snapshot,
            engine.clone(),
            open.clone(),
            region,
            ExplanationKind::Hover,
            Priority::Prefetch,
            false,
        )
        .await?;
        match snapshot
            .session
            .service
            .explain(&prepared.engine, prepared.request)
        {
            Lookup::Cached(_) => {}
            // Nobody waits: the generation fills the cache, or an edit cancels it.
            Lookup::Pending(ticket) => ticket.detach(),
        }
    }
    Ok(())
}

/// The named functions and methods of `document`, nearest to `cursor` first.
fn functions(document: &Document, cursor: usize) -> Vec<Region> {
    let text = document.text();
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        if !line.trim().is_empty()
            && let Some(region) = pick_at(document, line_start + indent, &PickOptions::default())
            && region.name.is_some()
            && region.kind.is_function_like()
            && seen.insert(region.byte_range.clone())
        {
            found.push(region);
        }
        line_start += line.len();
    }
    found.sort_by_key(|region| distance(&region.byte_range, cursor));
    found.truncate(MAX_PREFETCH);
    found
}

fn distance(range: &std::ops::Range<usize>, cursor: usize) -> usize {
    if range.contains(&cursor) {
        0
    } else if cursor < range.start {
        range.start - cursor
    } else {
        cursor - range.end
    }
}

//! `textDocument/didOpen`, `didChange`, `didClose` and `didSave`: keeping the document store in step.
//!
//! The first three are synchronous: tower-lsp polls handlers concurrently, and a hover that arrives
//! after a change must see it, so the store is updated before the handler's first `.await`. They
//! return notes to log once the change is done.

use std::sync::Arc;

use gloss_syntax::Language;
use tower_lsp_server::ls_types as lsp;

use crate::config::Prefetch;
use crate::memory::{self, LARGE_DOCUMENT_BYTES};
use crate::prefetch;
use crate::session::{Session, Snapshot};

pub fn did_open(
    session: &Arc<Session>,
    params: lsp::DidOpenTextDocumentParams,
) -> anyhow::Result<Vec<String>> {
    let item = params.text_document;
    let language = Language::from_lsp_id(&item.language_id).or_else(|| {
        item.uri
            .to_file_path()
            .and_then(|path| Language::from_path(&path))
    });
    let Some(language) = language else {
        // Not an error: editors send every file to every server configured for the workspace.
        return Ok(vec![format!(
            "{} ({}) is not a language gloss explains; ignoring it",
            item.uri.as_str(),
            item.language_id
        )]);
    };
    let uri = item.uri.clone();
    let large = item.text.len() >= LARGE_DOCUMENT_BYTES;
    session
        .documents
        .open(item.uri, language, item.text, item.version);
    if large {
        memory::trim_soon();
    }
    if session.settings().prefetch == Prefetch::Open {
        prefetch::schedule(session.snapshot(), uri);
    }
    Ok(Vec::new())
}

pub fn did_change(
    session: &Arc<Session>,
    params: lsp::DidChangeTextDocumentParams,
) -> anyhow::Result<Vec<String>> {
    let uri = params.text_document.uri;
    let encoding = session.negotiated().encoding;
    if session.documents.get(&uri).is_none() {
        return Ok(vec![format!(
            "{} is not open; change ignored",
            uri.as_str()
        )]);
    }
    let edits = session.documents.change(
        &uri,
        params.text_document.version,
        params.content_changes,
        encoding,
    )?;
    for edit in edits {
        session
            .service
            .document_edited(uri.as_str(), edit.replaced, edit.inserted);
    }
    if session
        .documents
        .get(&uri)
        .is_some_and(|open| open.document.text().len() >= LARGE_DOCUMENT_BYTES)
    {
        memory::trim_soon();
    }
    Ok(Vec::new())
}

pub fn did_close(
    session: &Arc<Session>,
    params: lsp::DidCloseTextDocumentParams,
) -> anyhow::Result<Vec<String>> {
    let uri = params.text_document.uri;
    // A large document's memory is given back when its last holder drops it (`OpenDocument`).
    session.documents.close(&uri);
    session.cursors.remove(&uri);
    session.service.document_closed(uri.as_str());
    Ok(Vec::new())
}

/// A saved document is a good moment to explain its functions again: edits cancelled the earlier
/// prefetch.
pub async fn did_save(
    snapshot: Snapshot,
    params: lsp::DidSaveTextDocumentParams,
) -> anyhow::Result<()> {
    if snapshot.settings.prefetch == Prefetch::Open {
        prefetch::schedule(snapshot, params.text_document.uri);
    }
    Ok(())
}

//! The open documents, as the client last described them.
//!
//! Each document sits behind an `Arc`: a request clones the `Arc` (its snapshot) and keeps reading
//! that version while later changes build a new one (copy on write), so a slow hover never blocks
//! `didChange` and never sees half an edit.

use std::ops::Range;
use std::sync::Arc;

use dashmap::DashMap;
use gloss_syntax::{Document, Language, PositionEncoding};
use tower_lsp_server::ls_types as lsp;

use crate::convert;

/// Documents bigger than this are kept (so their versions stay in step) but not explained; a hover
/// there says so. Generated files of tens of megabytes are real (parsers, bindings, data tables)
/// and tree-sitter parses them incrementally, so the bound is about memory: one copy of such a
/// document, its tree and line table.
pub const MAX_EXPLAINED_BYTES: usize = 32 * 1024 * 1024;

/// Other open documents up to this size lend context (definitions the explained code calls). A
/// generated file of megabytes is explained when hovered, but indexing it for every hover
/// elsewhere would cost tens of megabytes of memory for callees nobody looks up there.
pub const MAX_CONTEXT_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

#[derive(Clone)]
pub struct OpenDocument {
    pub uri: lsp::Uri,
    pub document: Document,
    pub version: i32,
}

impl Drop for OpenDocument {
    /// The last holder of a version of a large document frees its text and tree (hundreds of
    /// megabytes for a file of a few): a request that held it across an edit lets go of it
    /// after the edit's own trim, which must not be the last.
    fn drop(&mut self) {
        if self.document.text().len() >= crate::memory::LARGE_DOCUMENT_BYTES {
            crate::memory::trim_soon();
        }
    }
}

/// One applied edit, in bytes of the text before it: the explanation service cancels the
/// generations it touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub replaced: Range<usize>,
    pub inserted: usize,
}

/// A parse given up leaves the document without a tree; the log says so once per parse.
fn warn_if_unparsed(uri: &lsp::Uri, document: &Document) {
    if let Some(why) = document.why_unparsed() {
        tracing::warn!("{}: {why}", uri.as_str());
    }
}

#[derive(Default)]
pub struct DocumentStore {
    documents: DashMap<lsp::Uri, Arc<OpenDocument>>,
}

impl DocumentStore {
    pub fn open(&self, uri: lsp::Uri, language: Language, text: String, version: i32) {
        let document = Document::new(language, text, version);
        warn_if_unparsed(&uri, &document);
        self.documents.insert(
            uri.clone(),
            Arc::new(OpenDocument {
                uri,
                document,
                version,
            }),
        );
    }

    /// Applies `changes` in order. The map's lock is held only for this synchronous section.
    pub fn change(
        &self,
        uri: &lsp::Uri,
        version: i32,
        changes: Vec<lsp::TextDocumentContentChangeEvent>,
        encoding: PositionEncoding,
    ) -> anyhow::Result<Vec<Edit>> {
        let mut entry = self
            .documents
            .get_mut(uri)
            .ok_or_else(|| anyhow::anyhow!("change to {} which is not open", uri.as_str()))?;
        let open = Arc::make_mut(&mut entry);
        let mut edits = Vec::with_capacity(changes.len());
        for change in changes {
            let replaced = match change.range {
                Some(range) => convert::clamped_bytes(&open.document, range, encoding),
                None => 0..open.document.text().len(),
            };
            open.document.edit(
                change.range.map(convert::syntax_range),
                &change.text,
                encoding,
            );
            edits.push(Edit {
                replaced,
                inserted: change.text.len(),
            });
        }
        // One parse for all of them: in a large Python file each costs a parse of the whole file.
        open.document.reparse();
        warn_if_unparsed(uri, &open.document);
        open.version = version;
        open.document.set_version(version);
        Ok(edits)
    }

    pub fn close(&self, uri: &lsp::Uri) -> bool {
        self.documents.remove(uri).is_some()
    }

    pub fn get(&self, uri: &lsp::Uri) -> Option<Arc<OpenDocument>> {
        self.documents.get(uri).map(|entry| entry.clone())
    }

    /// Other open documents in the same language: the context may find callees there.
    pub fn others(
        &self,
        uri: &lsp::Uri,
        language: Language,
        limit: usize,
    ) -> Vec<Arc<OpenDocument>> {
        self.documents
            .iter()
            .filter(|entry| entry.key() != uri && entry.document.language() == language)
            .filter(|entry| entry.document.text().len() <= MAX_CONTEXT_DOCUMENT_BYTES)
            .take(limit)
            .map(|entry| entry.value().clone())
            .collect()
    }

    pub fn is_open_path(&self, path: &std::path::Path) -> bool {
        self.documents.iter().any(|entry| {
            entry
                .key()
                .to_file_path()
                .is_some_and(|open| open.as_ref() == path)
        })
    }
}
